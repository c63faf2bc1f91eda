/**
 * Wiring only: output channel, sidecar client, status bar, identities, commands, terminal variables,
 * the re-auth prompt, AI agents and debug sessions (agents.ts) and the API for other extensions. All decisions live in src/model/ (unit-tested) and all
 * Alibaba Cloud logic in the Python sidecar.
 */

import * as vscode from 'vscode';
import { registerAgents } from './agents';
import { createApi, type AlibabaCloudApi } from './api';
import { openInBrowser } from './browser';
import { Sidecar } from './client';
import { registerCommands } from './commands';
import { setErrorLog, showConfigProblem, showError } from './errors';
import { Notifications } from './model/contract';
import { IdentityStore } from './identity';
import { needsRestart } from './model/settings';
import { promptOnSessionEnd } from './reauth';
import { createOutput } from './output';
import { SignInFlow } from './signIn';
import { StatusBar } from './statusBar';
import { TerminalEnv } from './terminalEnv';
import { Launcher } from './launcher';
import { onDidChangeSelectedPython } from './pythonExtension';
import * as path from 'node:path';

let sidecar: Sidecar | undefined;

/**
 * Kept short on purpose: each line is one part of the wiring, so that adding a part is adding a line
 * (the parts are built in the functions below, in the order their events must be subscribed).
 */
export function activate(context: vscode.ExtensionContext): AlibabaCloudApi {
  const log = createOutput();
  setErrorLog(log);
  sidecar = new Sidecar(context, log, openInBrowser);
  const parts = createParts(context, sidecar, log);
  const watchers = watchChanges(sidecar, parts.terminals);
  context.subscriptions.push(log, { dispose: () => setErrorLog(undefined) }, sidecar, ...partsToDispose(sidecar, parts), ...watchers);
  registerAgents(context, sidecar, parts.signIn, parts.terminals, log);
  startSidecar(sidecar);
  return parts.api;
}

/** What the wiring builds around the sidecar client. */
interface Parts {
  identities: IdentityStore;
  signIn: SignInFlow;
  onSignedIn: vscode.Disposable;
  launcher: Launcher;
  terminals: TerminalEnv;
  api: AlibabaCloudApi & vscode.Disposable;
}

function createParts(context: vscode.ExtensionContext, sc: Sidecar, log: vscode.LogOutputChannel): Parts {
  const identities = new IdentityStore(sc, (m) => log.info(m), undefined, (m) => log.warn(m));
  const signIn = new SignInFlow(sc, (profile) => identities.whoIs(profile));
  const onSignedIn = signIn.onDidSignIn((entry) => identities.signedIn(entry.name));
  const setting = (key: string): boolean => vscode.workspace.getConfiguration('aliyun').get<boolean>(key, true);
  // The `aliyun-sidecar` launcher (the bundled sidecar for terminals and process_command), on PATH.
  const launcher = new Launcher(path.join(context.globalStorageUri.fsPath, 'bin'), sc, (m) => log.info(m), process.platform, () => terminals.apply());
  const terminals = new TerminalEnv(context.environmentVariableCollection, sc, () => setting('terminal.injectCredentials'), (m) => log.info(m), () =>
    setting('terminal.addLauncherToPath') ? launcher.pathEntry : undefined,
  );
  return { identities, signIn, onSignedIn, launcher, terminals, api: createApi(sc) };
}

/** The parts, and the UI built on them (status bar, commands, the re-auth prompt), in disposal order. */
function partsToDispose(sc: Sidecar, p: Parts): vscode.Disposable[] {
  return [
    p.signIn,
    p.identities,
    p.onSignedIn,
    new StatusBar(sc, p.identities),
    ...registerCommands(sc, p.signIn, p.identities),
    p.launcher,
    p.terminals,
    p.api,
    promptOnSessionEnd(sc, p.signIn),
  ];
}

/** What the sidecar must follow: config problems, settings, workspace trust, the Python extension's choice. */
function watchChanges(sc: Sidecar, terminals: TerminalEnv): vscode.Disposable[] {
  // The file became unusable (notification or a failed read): told once per problem, and logged.
  const onConfigError = sc.onConfigError((problem) => void showConfigProblem(problem, { method: Notifications.configError }));
  let restartTimer: NodeJS.Timeout | undefined;
  const restartSoon = (): void => {
    // Settings UI edits arrive keystroke by keystroke: restart once they settle.
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void sc.restart().catch((e) => showError(e)), 500);
  };
  const onConfig = vscode.workspace.onDidChangeConfiguration((e) => {
    if (needsRestart((s) => e.affectsConfiguration(s))) restartSoon();
    else if (e.affectsConfiguration('aliyun.terminal.injectCredentials')) void terminals.refreshEndpoint();
    else if (e.affectsConfiguration('aliyun.terminal.addLauncherToPath')) terminals.apply();
  });
  // Restricted settings (python path, config path, endpoints) may now come from the workspace.
  const onTrust = vscode.workspace.onDidGrantWorkspaceTrust(restartSoon);
  // Another interpreter selected in the Python extension: start the sidecar with it (when it is ours).
  const onPython = onDidChangeSelectedPython(() => {
    if (sc.status.kind === 'down' || sc.launch?.source === 'pythonExtension') restartSoon();
  });
  return [onConfigError, onConfig, onTrust, onPython, { dispose: () => clearTimeout(restartTimer) }];
}

/**
 * activationEvents is onStartupFinished, so this runs after the editor is up; it is not awaited so
 * that activation (and another extension's activate()) returns at once.
 */
function startSidecar(sc: Sidecar): void {
  void sc.start().catch((e) => showError(e));
}

export async function deactivate(): Promise<void> {
  await sidecar?.stop();
  sidecar = undefined;
}
