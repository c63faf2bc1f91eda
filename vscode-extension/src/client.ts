/**
 * Starts, stops and restarts the sidecar (`<python> -m sidecar`, JSON-RPC with LSP framing over
 * stdio) through vscode-languageclient, and keeps the two facts the UI follows: the sidecar's status
 * and the last ProfileList. Everything else is a request of the contract.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import * as readline from 'node:readline';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  Methods,
  Notifications,
  type ConfigError,
  type CredentialsChanged,
  type ProfileList,
  type SignInStarted,
  type SiteInfo,
} from './model/contract';
import { SidecarDownError } from './model/errorModel';
import { candidates, describeCandidate, launchEnv, noInterpreter, sidecarCode, type SidecarLaunch } from './model/interpreter';
import { stderrLevel } from './model/redact';
import { ignoredSettingMessage, initializationOptions, userOnlyGetter, type SettingsGetter } from './model/settings';
import { sitesFrom } from './model/sites';
import { configProblemOf, type SidecarStatus } from './model/statusModel';
import { pythonExtensionInstalled, selectedPython } from './pythonExtension';
import { findInterpreter, hasCommandLineTools } from './pythonProbe';

/**
 * The languageclient's "not running" answers: a request pending when the connection went away
 * (ErrorCodes.PendingResponseRejected) and one sent after (ErrorCodes.ConnectionInactive).
 */
const CONNECTION_GONE = new Set([-32097, -32096]);

/** Restarts after a crash before giving up (the default handler's count, kept explicit). */
const MAX_RESTARTS = 4;

export type BrowserOpener = (url: string) => Promise<boolean>;

export class Sidecar implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private stopping = false;
  private _status: SidecarStatus = { kind: 'starting' };
  private _profiles: ProfileList | undefined;
  private _launch: SidecarLaunch | undefined;
  private _configProblem: ConfigError | undefined;

  private readonly changed = new vscode.EventEmitter<void>();
  /** Status or ProfileList changed. */
  readonly onDidChange = this.changed.event;
  private readonly credentials = new vscode.EventEmitter<CredentialsChanged>();
  readonly onDidChangeCredentials = this.credentials.event;
  private readonly signInStarted = new vscode.EventEmitter<SignInStarted>();
  readonly onSignInStarted = this.signInStarted.event;
  private readonly configError = new vscode.EventEmitter<ConfigError>();
  readonly onConfigError = this.configError.event;
  private readonly running = new vscode.EventEmitter<void>();
  /** Fired each time a sidecar process is ready (first start, restarts, automatic recoveries). */
  readonly onDidStart = this.running.event;
  /**
   * The `aliyun.` settings, with those a folder may not choose (model/settings.ts) read from User or
   * Remote settings only; one log line per ignored folder value per session. Public for the MCP
   * servers (agents.ts), which read the same user-only settings.
   */
  readonly setting: SettingsGetter = userOnlyGetter(
    (k) => vscode.workspace.getConfiguration('aliyun').get(k),
    (k) => vscode.workspace.getConfiguration('aliyun').inspect(k),
    (k) => this.log.warn(ignoredSettingMessage(k)),
  );

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
    /** Opens sign-in URLs; the sidecar's window/showDocument requests go through it too. */
    private readonly openBrowser: BrowserOpener,
  ) {}

  get status(): SidecarStatus {
    return this._status;
  }

  get profiles(): ProfileList | undefined {
    return this._profiles;
  }

  /**
   * Why the config file cannot be used right now (corrupt, unreadable, not safe), from the
   * `aliyun/configError` notification or a failed `aliyun/listProfiles`; cleared by the next good list.
   * While set, the last list is not shown as live (it may be stale).
   */
  get configProblem(): ConfigError | undefined {
    return this._configProblem;
  }

  /** The running sidecar's sign-in sites (its initialize result); [] while none runs. */
  get sites(): SiteInfo[] {
    return sitesFrom(this.client?.initializeResult);
  }

  /** How the running (or last started) sidecar was launched: the launcher for terminals follows it. */
  get launch(): SidecarLaunch | undefined {
    return this._launch;
  }

  /** Starts the sidecar once; concurrent callers share the start. Rejects with SidecarDownError. */
  start(): Promise<void> {
    if (this.client?.isRunning()) return Promise.resolve();
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.disposeClient();
    // Nothing answers for these profiles any more: the status bar must not look live meanwhile.
    this._profiles = undefined;
    this._configProblem = undefined;
    this.setStatus({ kind: 'down', reason: 'The sidecar was stopped.' });
  }

  private async disposeClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.stopping = true;
    try {
      // The sidecar keeps every wait on asyncio, so it exits well within the 2 s the client allows.
      if (client.needsStop()) await client.stop(2000);
    } catch (e) {
      this.log.warn(`Stopping the sidecar: ${String(e)}`);
    } finally {
      this.stopping = false;
      await client.dispose().catch(() => undefined);
    }
  }

  /**
   * A request of the contract. Waits for a start in progress; never starts a stopped sidecar by
   * itself (a failed start already told the user why, and the user restarts it on purpose).
   */
  async request<R>(method: string, params: object = {}, token?: vscode.CancellationToken): Promise<R> {
    await this.starting?.catch(() => undefined);
    const client = this.client;
    if (!client || !client.isRunning()) throw new SidecarDownError(this.downReason());
    try {
      return token ? await client.sendRequest<R>(method, params, token) : await client.sendRequest<R>(method, params);
    } catch (e) {
      if (CONNECTION_GONE.has((e as { code?: number }).code ?? 0)) throw new SidecarDownError(this.downReason());
      throw e;
    }
  }

  /** Re-reads the list (after a start; notifications keep it current afterwards). */
  async refreshProfiles(): Promise<void> {
    try {
      this.setProfiles(await this.request<ProfileList>(Methods.listProfiles));
    } catch (e) {
      const problem = configProblemOf(e);
      if (problem) this.setConfigProblem(problem);
      else this.log.warn(`aliyun/listProfiles failed: ${(e as Error).message ?? String(e)}`);
    }
  }

  /** A request answered with a ProfileList (switch, delete, set): show it at once. */
  setProfiles(list: ProfileList): void {
    this._profiles = list;
    if (this._configProblem) this.log.info(`The config file ${list.configPath} is readable again.`);
    this._configProblem = undefined;
    this.changed.fire();
  }

  /**
   * `aliyun/configError`: read the list once more, whose error carries every field of the error's
   * data (position included) whatever this sidecar's notification holds; the notification itself
   * when the read fails otherwise. A list that reads fine means the file was fixed meanwhile.
   */
  private async configBroke(notified: ConfigError): Promise<void> {
    try {
      this.setProfiles(await this.request<ProfileList>(Methods.listProfiles));
    } catch (e) {
      this.setConfigProblem(configProblemOf(e) ?? notified);
    }
  }

  /** The file became unusable: one log line per new problem, the status follows, the user is told once. */
  private setConfigProblem(problem: ConfigError): void {
    const key = (p: ConfigError | undefined): string => (p ? `${p.kind}|${p.path}|${p.line ?? ''}|${p.column ?? ''}` : '');
    const same = key(this._configProblem) === key(problem);
    this._configProblem = problem;
    this.changed.fire();
    if (!same) this.configError.fire(problem);
  }

  dispose(): void {
    void this.stop();
    for (const e of [this.changed, this.credentials, this.signInStarted, this.configError, this.running]) e.dispose();
  }

  private downReason(): string {
    return this._status.kind === 'down' ? this._status.reason : 'The sidecar is not running.';
  }

  private setStatus(status: SidecarStatus): void {
    this._status = status;
    this.changed.fire();
  }

  /**
   * Finds the interpreter (model/interpreter.ts has the order) by running each candidate's probe:
   * a missing or old Python otherwise shows as a bare spawn error.
   */
  private async findLaunch(): Promise<SidecarLaunch> {
    const exists = (p: string): boolean => fs.existsSync(p);
    const code = sidecarCode(this.context.extensionPath, exists);
    const trusted = vscode.workspace.isTrusted;
    const list = candidates({
      pythonPathSetting: this.setting('sidecar.pythonPath') as string | undefined,
      pythonExtension: trusted ? await selectedPython((m) => this.log.info(m)) : undefined,
      workspaceTrusted: trusted,
      extensionPath: this.context.extensionPath,
      platform: process.platform,
      home: os.homedir(),
      exists,
      pathEnv: process.env.PATH,
      commandLineTools: process.platform === 'darwin' ? await hasCommandLineTools() : undefined,
    });
    const found = await findInterpreter(list, code);
    for (const t of found.tried) if (!t.verdict.ok) this.log.info(`Not using ${t.verdict.detail}.`);
    if (!found.ok) {
      const none = noInterpreter(found.tried, code, pythonExtensionInstalled());
      this.log.error(none.message);
      this.setStatus({ kind: 'down', reason: none.message });
      throw new SidecarDownError(none.message, none.fix);
    }
    const { launch } = found;
    const chosen = found.tried[found.tried.length - 1]!.candidate;
    this.log.info(
      `Starting the sidecar: Python ${found.version} ${describeCandidate(chosen)}, ${launch.args.join(' ')}, code from the ${code.origin === 'bundled' ? 'extension' : code.origin} (${launch.pythonPath ?? 'the interpreter'}), cwd ${launch.cwd}`,
    );
    return launch;
  }

  private async doStart(): Promise<void> {
    await this.disposeClient(); // a client that gave up after crashes
    this.setStatus({ kind: 'starting' });
    const launch = await this.findLaunch();
    this._launch = launch;
    const client = this.createClient(launch);
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      const reason = `The sidecar did not start (${(e as Error).message ?? String(e)}). See the output for details.`;
      this.log.error(reason);
      if (this.client === client) this.client = undefined;
      await client.dispose().catch(() => undefined);
      this.setStatus({ kind: 'down', reason });
      throw new SidecarDownError(reason);
    }
  }

  private createClient(launch: SidecarLaunch): LanguageClient {
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      options: { cwd: launch.cwd, env: launchEnv(process.env) },
    };
    const log = this.log;
    const clientOptions: LanguageClientOptions = {
      // No documentSelector: the sidecar is not a language server, and pygls would otherwise be sent
      // every open document.
      outputChannel: log,
      traceOutputChannel: log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: () => initializationOptions(this.setting, os.homedir()),
      initializationFailedHandler: (error) => {
        log.error(`initialize failed: ${String(error)}`);
        return false;
      },
      connectionOptions: { maxRestartCount: MAX_RESTARTS },
      errorHandler: this.errorHandler(),
      stdioOptions: {
        stdout: (input) => readline.createInterface({ input, crlfDelay: Infinity }).on('line', (l: string) => log.info(l)),
        // The sidecar's stderr is its (redacted) log, not a stream of errors.
        stderr: (input) => readline.createInterface({ input, crlfDelay: Infinity }).on('line', (l: string) => log[stderrLevel(l)](l)),
      },
      middleware: {
        window: {
          // Should a sidecar ask the editor to open a URL (openBrowser left true), use our opener,
          // not the client's Uri.parse + openExternal, which re-serialises the URL.
          showDocument: async (params, token, next) => {
            if (params.external && /^https?:/i.test(params.uri)) return { success: await this.openBrowser(params.uri) };
            return next(params, token);
          },
        },
      },
    };
    const client = new LanguageClient('aliyun', 'Alibaba Cloud', serverOptions, clientOptions);
    client.onNotification(Notifications.profilesChanged, (list: ProfileList) => this.setProfiles(list));
    client.onNotification(Notifications.credentialsChanged, (e: CredentialsChanged) => this.credentials.fire(e));
    client.onNotification(Notifications.signInStarted, (e: SignInStarted) => this.signInStarted.fire(e));
    client.onNotification(Notifications.configError, (e: ConfigError) => void this.configBroke(e));
    client.onDidChangeState((e) => {
      if (this.client !== client) return;
      if (e.newState === State.Running) {
        this.setStatus({ kind: 'running' });
        this.running.fire();
        void this.refreshProfiles();
      } else if (e.newState === State.Starting) {
        this.setStatus({ kind: 'starting' });
      } else if (e.newState === State.Stopped && !this.stopping) {
        this.setStatus({ kind: 'down', reason: 'The sidecar stopped. See the output for details.' });
      }
    });
    return client;
  }

  private errorHandler(): LanguageClientOptions['errorHandler'] {
    const restarts: number[] = [];
    return {
      error: (_e, _m, count) => ({ action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
      closed: () => {
        if (this.stopping) return { action: CloseAction.DoNotRestart, handled: true };
        const now = Date.now();
        restarts.push(now);
        while (restarts.length && now - restarts[0]! > 3 * 60_000) restarts.shift();
        if (restarts.length <= MAX_RESTARTS) {
          this.log.warn('The sidecar exited; restarting it.');
          return { action: CloseAction.Restart, handled: true };
        }
        this.log.error('The sidecar exited too often; not restarting it. Run "Alibaba Cloud: Restart Sidecar" after fixing the cause.');
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }
}
