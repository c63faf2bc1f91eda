/**
 * "Sign in again?" when the sidecar says a profile's session ended (`credentialsChanged` with
 * `signInRequired`): once per ended session and never stacked (model/reauthGate.ts decides).
 */

import * as vscode from 'vscode';
import type { Sidecar } from './client';
import { ReauthGate, sessionEndedMessage } from './model/reauthGate';
import type { SignInFlow } from './signIn';

export function promptOnSessionEnd(
  sidecar: Pick<Sidecar, 'onDidChangeCredentials' | 'onDidChange' | 'profiles'>,
  signIn: Pick<SignInFlow, 'signIn'>,
): vscode.Disposable {
  const gate = new ReauthGate();
  const onCredentials = sidecar.onDidChangeCredentials((e) => {
    if (e.kind === 'refreshed') return gate.reset(e.profile);
    if (!gate.shouldPrompt(e.profile)) return;
    void vscode.window.showWarningMessage(sessionEndedMessage(e.profile), 'Sign In').then(async (choice) => {
      gate.closed();
      if (choice) await signIn.signIn(e.profile);
    });
  });
  const onProfiles = sidecar.onDidChange(() => gate.observe(sidecar.profiles?.profiles ?? []));
  return vscode.Disposable.from(onCredentials, onProfiles);
}
