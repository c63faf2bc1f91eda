/** Shows an error of the sidecar as one sentence with the buttons that are the next step. */

import * as vscode from 'vscode';
import { describeError, type ErrorActionView, type ErrorContext } from './model/errorModel';
import { settingsCommand } from './model/interpreter';

export interface ErrorHooks {
  /** Run again what failed (the "Retry" button); the button is hidden without it. */
  retry?: () => unknown;
}

export async function showError(err: unknown, ctx: ErrorContext = {}, hooks: ErrorHooks = {}): Promise<void> {
  const view = describeError(err, ctx);
  if (!view) return;
  const actions = view.actions.filter((a) => a.kind !== 'retry' || hooks.retry);
  const show = view.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
  const picked = await show(view.message, ...actions.map((a) => a.title));
  const action = actions.find((a) => a.title === picked);
  if (action) await runAction(action, hooks);
}

async function runAction(action: ErrorActionView, hooks: ErrorHooks): Promise<void> {
  switch (action.kind) {
    case 'openDocs':
      if (action.arg) await vscode.env.openExternal(vscode.Uri.parse(action.arg, true));
      return;
    case 'signIn':
      await vscode.commands.executeCommand('aliyun.signIn', action.arg ? { profile: action.arg } : undefined);
      return;
    case 'retry':
      await hooks.retry?.();
      return;
    case 'openSettings':
      // The Remote tab in a remote window: that is where machine-overridable settings are read.
      // An object, not a string: openRemoteSettings ignores a string query.
      await vscode.commands.executeCommand(settingsCommand(vscode.env.remoteName), { query: action.arg ?? 'aliyun' });
      return;
    case 'runCommand':
      if (action.arg) await vscode.commands.executeCommand(action.arg);
      return;
    case 'showOutput':
      await vscode.commands.executeCommand('aliyun.showOutput');
      return;
    case 'restartSidecar':
      await vscode.commands.executeCommand('aliyun.restartSidecar');
      return;
    case 'openConfig':
      if (action.arg) await vscode.window.showTextDocument(vscode.Uri.file(action.arg));
      return;
  }
}
