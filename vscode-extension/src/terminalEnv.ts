/**
 * With `aliyun.terminal.injectCredentials` (default on) and a sidecar that serves
 * `aliyun/credentialsEndpoint`, new terminals get ALIBABA_CLOUD_CREDENTIALS_URI and
 * ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true (and the endpoint's other variables): tools then fetch
 * always-fresh STS credentials from the sidecar instead of reading the file. Tasks run in terminals,
 * so they get the same variables. No ALIBABA_CLOUD_PROFILE: the endpoint serves the file's `current`
 * profile, as the CLI and SDKs read it, so after a switch in the status bar every terminal (one opened
 * before included) uses the new profile at its next command (model/terminalModel.ts).
 */

import * as path from 'node:path';
import type * as vscode from 'vscode';
import { Methods, type CredentialsEndpoint, type ProfileList } from './model/contract';
import type { SidecarStatus } from './model/statusModel';
import { terminalVariables } from './model/terminalModel';

/** What this module needs of the Sidecar (a narrow interface, so tests can pass a double). */
export interface SidecarForTerminals {
  readonly status: SidecarStatus;
  readonly profiles: ProfileList | undefined;
  readonly onDidChange: vscode.Event<void>;
  readonly onDidStart: vscode.Event<void>;
  request<R>(method: string, params?: object): Promise<R>;
}

export class TerminalEnv implements vscode.Disposable {
  private endpoint: CredentialsEndpoint | undefined;
  private applied = '';
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly collection: vscode.EnvironmentVariableCollection,
    private readonly sidecar: SidecarForTerminals,
    private readonly inject: () => boolean,
    private readonly log: (message: string) => void = () => undefined,
    /** A folder to put first on the terminals' PATH (the `aliyun-sidecar` launcher's), if any. */
    private readonly pathEntry: () => string | undefined = () => undefined,
    private readonly delimiter: string = path.delimiter,
  ) {
    // Not persisted: after a reload the endpoint of the old sidecar is gone.
    collection.persistent = false;
    collection.description = 'Alibaba Cloud: fresh credentials of the current profile from the sign-in helper';
    this.subscriptions = [sidecar.onDidStart(() => void this.refreshEndpoint()), sidecar.onDidChange(() => this.apply())];
    this.apply();
  }

  /** Asks a (re)started sidecar for its endpoint; without one, no credentials variables are set. */
  async refreshEndpoint(): Promise<void> {
    this.endpoint = undefined;
    if (this.inject()) {
      try {
        this.endpoint = await this.sidecar.request<CredentialsEndpoint>(Methods.credentialsEndpoint, {});
      } catch (e) {
        this.log(`No credentials endpoint for terminals: ${(e as Error).message ?? String(e)}`);
      }
    }
    this.apply();
  }

  /** The credentials endpoint's variables now (none while the sidecar is down or injection is off). */
  credentialVariables(): Record<string, string> {
    const running = this.sidecar.status.kind === 'running';
    return terminalVariables(running ? this.endpoint : undefined, this.inject());
  }

  apply(): void {
    const vars = this.credentialVariables();
    const bin = this.pathEntry();
    const key = JSON.stringify([vars, bin]);
    if (key === this.applied) return; // unchanged: do not flag every terminal as stale
    this.applied = key;
    this.collection.clear();
    for (const [name, value] of Object.entries(vars)) this.collection.replace(name, value);
    if (bin) this.collection.prepend('PATH', `${bin}${this.delimiter}`);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.collection.clear();
  }
}
