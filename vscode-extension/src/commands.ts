/** The extension's commands (ids `aliyun.*`, category "Alibaba Cloud" in package.json). */

import * as vscode from 'vscode';
import type { Sidecar } from './client';
import type { IdentityStore } from './identity';
import { Methods, type ProfileEntry } from './model/contract';
import { configPosition } from './model/errorModel';
import { describeIdentity, identityDetail } from './model/identityModel';
import { withArticle } from './model/signInModel';
import { currentEntry, OPEN_CONFIG_COMMAND } from './model/statusModel';
import { formatLocalTime } from './model/time';
import { openConfigAt, showError } from './errors';
import { deleteProfile, showProfilePicker, switchTo } from './profilePicker';
import type { SignInFlow } from './signIn';

export function registerCommands(sidecar: Sidecar, signIn: SignInFlow, identities: IdentityStore): vscode.Disposable[] {
  const profileArg = (arg: unknown): string | undefined =>
    typeof arg === 'string' ? arg : arg && typeof arg === 'object' && 'profile' in arg ? String((arg as { profile: unknown }).profile) : undefined;

  /** The current profile when it is an OAuth one; otherwise says why nothing happens (and offers to sign in). */
  const currentOAuthEntry = async (notOAuthReason: string): Promise<ProfileEntry | undefined> => {
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
  };

  const refresh = async (): Promise<void> => {
    const entry = await currentOAuthEntry('its credentials are not renewed by this extension');
    if (!entry) return;
    try {
      const fresh = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Alibaba Cloud: renewing credentials' },
        () => sidecar.request<ProfileEntry>(Methods.refresh, { profile: entry.name, force: 'sts' }),
      );
      const until = fresh.stsExpiresAt ? ` until ${formatLocalTime(fresh.stsExpiresAt)}` : '';
      vscode.window.setStatusBarMessage(`Alibaba Cloud: credentials of "${fresh.name}" renewed${until}`, 5000);
      void sidecar.refreshProfiles();
    } catch (e) {
      await showError(e, { method: Methods.refresh, profile: entry.name }, { retry: refresh });
    }
  };

  const whoAmI = async (): Promise<void> => {
    const entry = await currentOAuthEntry('this extension does not look up its identity');
    if (!entry) return;
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
      await showError(result.error, { method: Methods.whoAmI, profile: entry.name }, { retry: whoAmI, logged: true });
    }
  };

  const restart = async (): Promise<void> => {
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Alibaba Cloud: restarting the sidecar' }, () =>
        sidecar.restart(),
      );
    } catch (e) {
      await showError(e);
    }
  };

  /** The config-problem status item's click: the file, at the error's line and column. */
  const openConfig = async (): Promise<void> => {
    const problem = sidecar.configProblem;
    const path = problem?.path || sidecar.profiles?.configPath;
    if (!path) return;
    try {
      const at = problem ? configPosition(problem) : undefined;
      await openConfigAt(path, at?.line, at?.column);
    } catch (e) {
      await showError(e);
    }
  };

  const register = (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable => vscode.commands.registerCommand(id, fn);
  return [
    register('aliyun.signIn', (arg) => signIn.signIn(profileArg(arg))),
    register('aliyun.switchProfile', (arg) => {
      const name = profileArg(arg);
      return name ? switchTo(sidecar, name) : showProfilePicker(sidecar, signIn, identities);
    }),
    register('aliyun.deleteProfile', (arg) => deleteProfile(sidecar, profileArg(arg))),
    register('aliyun.refreshCredentials', refresh),
    register('aliyun.whoAmI', whoAmI),
    register('aliyun.copySignInUrl', () => signIn.copyUrl()),
    register('aliyun.pasteSignInUrl', () => signIn.pasteRedirectUrl()),
    // Not in the palette: the waiting notification's "Open again" link and the status item's click.
    register('aliyun.openSignInUrl', () => signIn.openAgain()),
    register(OPEN_CONFIG_COMMAND, openConfig),
    register('aliyun.showOutput', () => sidecar.log.show()),
    register('aliyun.restartSidecar', restart),
  ];
}
