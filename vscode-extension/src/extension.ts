/**
 * Wiring only: output channel, sidecar client, status bar, identities, commands, terminal variables,
 * the re-auth prompt and the API for other extensions. All decisions live in src/model/ (unit-tested) and all
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

export function activate(context: vscode.ExtensionContext): AlibabaCloudApi {
  const log = createOutput();
  setErrorLog(log);
  sidecar = new Sidecar(context, log, openInBrowser);
  const sc = sidecar;
  const identities = new IdentityStore(sc, (m) => log.info(m), undefined, (m) => log.warn(m));
  const signIn = new SignInFlow(sc, (profile) => identities.whoIs(profile));
  const onSignedIn = signIn.onDidSignIn((entry) => identities.signedIn(entry.name));
  const injectCredentials = (): boolean => vscode.workspace.getConfiguration('aliyun').get<boolean>('terminal.injectCredentials', true);
  // The `aliyun-sidecar` launcher (the bundled sidecar for terminals and process_command), on PATH.
  const onPath = (): boolean => vscode.workspace.getConfiguration('aliyun').get<boolean>('terminal.addLauncherToPath', true);
  const launcher = new Launcher(path.join(context.globalStorageUri.fsPath, 'bin'), sc, (m) => log.info(m), process.platform, () => terminals.apply());
  const terminals = new TerminalEnv(context.environmentVariableCollection, sc, injectCredentials, (m) => log.info(m), () =>
    onPath() ? launcher.pathEntry : undefined,
  );
  const api = createApi(sc);

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

  context.subscriptions.push(
    log,
    { dispose: () => setErrorLog(undefined) },
    sc,
    signIn,
    identities,
    onSignedIn,
    new StatusBar(sc, identities),
    ...registerCommands(sc, signIn, identities),
    launcher,
    terminals,
    api,
    promptOnSessionEnd(sc, signIn),
    onConfigError,
    onConfig,
    onTrust,
    onPython,
    { dispose: () => clearTimeout(restartTimer) },
  );
  registerAgents(context, sc, signIn, terminals, log);

  // activationEvents is onStartupFinished, so this runs after the editor is up; it is not awaited so
  // that activation (and another extension's activate()) returns at once.
  void sc.start().catch((e) => showError(e));
  return api;
}

export async function deactivate(): Promise<void> {
  await sidecar?.stop();
  sidecar = undefined;
}
