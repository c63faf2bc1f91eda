/** Commands on the current profile's credentials: refresh them, ask who they belong to. */

import * as vscode from 'vscode';
import type { Sidecar } from '../client';
import { showError } from '../errors';
import type { IdentityStore } from '../identity';
import { Methods, type ProfileEntry } from '../model/contract';
import { describeIdentity, identityDetail } from '../model/identityModel';
import { withArticle } from '../model/signInModel';
import { currentEntry } from '../model/statusModel';
import { formatLocalTime } from '../model/time';
import type { SignInFlow } from '../signIn';
import { register } from './register';

export function credentialCommands(sidecar: Sidecar, signIn: SignInFlow, identities: IdentityStore): vscode.Disposable[] {
  const current = (notOAuthReason: string): Promise<ProfileEntry | undefined> => currentOAuthEntry(sidecar, signIn, notOAuthReason);
  const refresh = async (): Promise<void> => {
    const entry = await current('its credentials are not renewed by this extension');
    if (entry) await refreshCredentials(sidecar, entry, refresh);
  };
  const whoAmI = async (): Promise<void> => {
    const entry = await current('this extension does not look up its identity');
    if (entry) await showIdentity(identities, entry, whoAmI);
  };
  return [register('aliyun.refreshCredentials', refresh), register('aliyun.whoAmI', whoAmI)];
}

/** The current profile when it is an OAuth one; otherwise says why nothing happens (and offers to sign in). */
async function currentOAuthEntry(sidecar: Sidecar, signIn: SignInFlow, notOAuthReason: string): Promise<ProfileEntry | undefined> {
  const entry = currentEntry(sidecar.profiles);
  if (!entry) {
    const choice = await vscode.window.showInformationMessage('Not signed in to Alibaba Cloud.', 'Sign In');
    if (choice) await signIn.signIn();
    return undefined;
  }
  if (entry.state === 'notOAuth') {
    void vscode.window.showInformationMessage(`Profile "${entry.name}" is ${withArticle(entry.mode || 'non-OAuth')} profile: ${notOAuthReason}.`);
    return undefined;
  }
  return entry;
}

async function refreshCredentials(sidecar: Sidecar, entry: ProfileEntry, retry: () => Promise<void>): Promise<void> {
  try {
    const fresh = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Alibaba Cloud: renewing credentials' },
      () => sidecar.request<ProfileEntry>(Methods.refresh, { profile: entry.name, force: 'sts' }),
    );
    const until = fresh.stsExpiresAt ? ` until ${formatLocalTime(fresh.stsExpiresAt)}` : '';
    vscode.window.setStatusBarMessage(`Alibaba Cloud: credentials of "${fresh.name}" renewed${until}`, 5000);
    void sidecar.refreshProfiles();
  } catch (e) {
    await showError(e, { method: Methods.refresh, profile: entry.name }, { retry });
  }
}

async function showIdentity(identities: IdentityStore, entry: ProfileEntry, retry: () => Promise<void>): Promise<void> {
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Alibaba Cloud: who am I?' }, () =>
    identities.lookUp(entry.name),
  );
  if (result.kind === 'known') {
    // A modal: the whole identity (ARN, ids) stays readable and selectable, not cut to one line.
    const id = result.identity;
    void vscode.window.showInformationMessage(`Profile "${entry.name}": ${describeIdentity(id)}.`, { modal: true, detail: identityDetail(id) });
  } else if (result.kind === 'unsupported') {
    void vscode.window.showInformationMessage(`Profile "${entry.name}": identity unknown (this version of the sign-in helper cannot look it up).`);
  } else {
    await showError(result.error, { method: Methods.whoAmI, profile: entry.name }, { retry, logged: true });
  }
}
