/**
 * Shows an error of the sidecar as one sentence with the buttons that are the next step, and writes
 * its one log line (cause and next step) to the "Alibaba Cloud" output.
 */

import * as vscode from 'vscode';
import type { ConfigError } from './model/contract';
import { describeError, type ErrorActionView, type ErrorContext, type LogLine } from './model/errorModel';
import { settingsCommand } from './model/interpreter';

export interface ErrorHooks {
  /** Run again what failed (the "Retry" button); the button is hidden without it. */
  retry?: () => unknown;
  /** The failure's line is already in the log (written where it happened): do not write a second. */
  logged?: boolean;
}

type LogSink = Pick<vscode.LogOutputChannel, 'error' | 'warn' | 'info'>;
let sink: LogSink | undefined;

/** Where the failures' log lines go (the output channel; set once at activation). */
export function setErrorLog(log: LogSink | undefined): void {
  sink = log;
}

/** Writes one line at its level. */
export function writeLog(line: LogLine): void {
  sink?.[line.level](line.text);
}

export async function showError(err: unknown, ctx: ErrorContext = {}, hooks: ErrorHooks = {}): Promise<void> {
  const view = describeError(err, ctx);
  if (!view) return;
  if (!hooks.logged) writeLog(view.log);
  const actions = view.actions.filter((a) => a.kind !== 'retry' || hooks.retry);
  const show = view.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
  const picked = await show(view.message, ...actions.map((a) => a.title));
  const action = actions.find((a) => a.title === picked);
  if (action) await runAction(action, hooks);
}

/**
 * The config file cannot be used (a ConfigError of the notification or of a failed list): shown and
 * logged like any error of that kind, with its "Open File" at the error's position.
 */
export function showConfigProblem(problem: ConfigError, ctx: ErrorContext = {}): Promise<void> {
  const { message, ...data } = problem;
  return showError({ message, data }, ctx);
}

/** Opens the config file, with the cursor on the error's line and column when known. */
export async function openConfigAt(path: string, line?: number, column?: number): Promise<void> {
  const uri = vscode.Uri.file(path);
  if (!line) {
    await vscode.window.showTextDocument(uri);
    return;
  }
  const at = new vscode.Position(Math.max(0, line - 1), Math.max(0, (column ?? 1) - 1));
  await vscode.window.showTextDocument(uri, { selection: new vscode.Range(at, at) });
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
      // The Remote tab in a remote window: that is where `machine` settings are read.
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
      if (action.arg) await openConfigAt(action.arg, action.line, action.column);
      return;
  }
}
