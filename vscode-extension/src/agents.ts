/**
 * AI agents and debug sessions act as the signed-in user.
 *
 * - MCP servers: one `McpStdioServerDefinition` per entry of `aliyun.mcp.servers`, each the sidecar's
 *   `mcp` subcommand for the current profile (model/mcpModel.ts decides labels, arguments, versions).
 *   VS Code is told whenever a definition changes (a switch, the mode, the servers, the endpoints, the
 *   launch), so it restarts the servers as the new profile. Before a start, a profile that needs a
 *   browser sign-in is signed in first; with no sidecar or no profile the server is not started.
 * - Debug sessions: every debug configuration gets the credentials variables the terminals get
 *   (model/terminalModel.ts), a key it sets itself winning. Tasks need nothing here: they run in
 *   terminals, which already get the EnvironmentVariableCollection (terminalEnv.ts).
 */

import * as os from 'node:os';
import * as vscode from 'vscode';
import type { Sidecar } from './client';
import type { ProfileEntry } from './model/contract';
import { mcpServerPlans, mcpSettings, mcpStartDecision, plansKey, signInAbandonedLog, type McpFix, type McpServerPlan } from './model/mcpModel';
import { configPathOption, endpointsOption, MCP_ENDPOINTS, SIDECAR_ENDPOINTS } from './model/settings';
import { OPEN_CONFIG_COMMAND } from './model/statusModel';
import { withCredentialVariables } from './model/terminalModel';
import type { SignInFlow } from './signIn';
import type { TerminalEnv } from './terminalEnv';

/** The MCP provider's id (package.json `contributes.mcpServerDefinitionProviders`). */
export const MCP_PROVIDER_ID = 'aliyun.mcp';
/** How long a start waits for a starting sidecar and its profile list. */
const SETTLE_MS = 20_000;
/** Settings whose change may change the definitions. */
const MCP_SECTIONS = ['aliyun.mcp', 'aliyun.endpoints', 'aliyun.configPath'];

export type SidecarForAgents = Pick<Sidecar, 'status' | 'profiles' | 'launch' | 'configProblem' | 'onDidChange' | 'setting'>;
export type SignInForAgents = Pick<SignInFlow, 'signIn' | 'signInAgain' | 'onDidSignIn'>;
export type Log = Pick<vscode.LogOutputChannel, 'info' | 'warn'>;

export class McpServers implements vscode.McpServerDefinitionProvider<vscode.McpStdioServerDefinition>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeMcpServerDefinitions = this.changed.event;
  /** The current profile; kept while the sidecar restarts (no list), so its servers are not replaced for nothing. */
  private profile: string | undefined;
  /** No server before the first profile list: a "not signed in" one would only flash by at start-up. */
  private listSeen = false;
  private key: string;
  private ignoredSaid = '';
  /** The sign-in a start is waiting for, per profile: two servers starting at once share one. */
  private readonly signingIn = new Map<string, Promise<boolean>>();
  /** A refusal message is on screen: another start only logs (messages never stack). */
  private telling = false;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly sidecar: SidecarForAgents,
    private readonly signIn: SignInForAgents,
    private readonly log: Log,
  ) {
    this.key = plansKey(this.plans());
    this.subscriptions = [
      sidecar.onDidChange(() => this.check()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (MCP_SECTIONS.some((s) => e.affectsConfiguration(s))) this.check();
      }),
    ];
  }

  /** The servers now (model/mcpModel.ts), from the user-only settings and the sidecar's state. */
  plans(): McpServerPlan[] {
    const list = this.sidecar.profiles;
    if (list) [this.profile, this.listSeen] = [list.current || undefined, true];
    const get = this.sidecar.setting;
    const settings = mcpSettings(get);
    const said = settings.ignored.join('; ');
    if (said && said !== this.ignoredSaid) this.log.warn(`Ignored entries of aliyun.mcp.servers: ${said}.`);
    this.ignoredSaid = said;
    if (!this.listSeen) return [];
    return mcpServerPlans({
      settings,
      profile: this.profile,
      launch: this.sidecar.launch,
      configPath: configPathOption(get, os.homedir()),
      endpoints: endpointsOption(get, [...SIDECAR_ENDPOINTS, ...MCP_ENDPOINTS]),
    });
  }

  /** Tells VS Code when a definition changed (it then asks again and restarts what changed). */
  check(): void {
    const plans = this.plans();
    const key = plansKey(plans);
    if (key === this.key) return;
    this.key = key;
    this.log.info(plans.length ? `MCP servers for agents: ${plans.map((p) => p.label).join(', ')}.` : 'No MCP servers for agents.');
    this.changed.fire();
  }

  provideMcpServerDefinitions(): vscode.McpStdioServerDefinition[] {
    return this.plans().map((p) => {
      const d = new vscode.McpStdioServerDefinition(p.label, p.command, p.args, {}, p.version);
      d.cwd = vscode.Uri.file(p.cwd);
      return d;
    });
  }

  async resolveMcpServerDefinition(server: vscode.McpStdioServerDefinition, token: vscode.CancellationToken): Promise<vscode.McpStdioServerDefinition | undefined> {
    await this.settled(token);
    if (token.isCancellationRequested) return undefined;
    const sc = this.sidecar;
    const decision = mcpStartDecision(server.label, sc.status, sc.profiles, sc.configProblem);
    if (decision.kind === 'start') return server;
    if (decision.kind === 'signIn') {
      if ((await this.signInFirst(decision.entry)) && !token.isCancellationRequested) return server;
      this.log.info(signInAbandonedLog(server.label, decision.entry.name));
      return undefined;
    }
    this.log.warn(decision.log);
    if (!this.telling) {
      this.telling = true;
      void vscode.window.showWarningMessage(decision.message, decision.fix.title).then((choice) => {
        this.telling = false;
        if (choice) void this.fix(decision.fix);
      });
    }
    return undefined;
  }

  /** Waits (bounded) while the sidecar starts and reads its list, so an early start is not refused. */
  private settled(token: vscode.CancellationToken): Promise<void> {
    const sc = this.sidecar;
    const ready = (): boolean => sc.status.kind === 'down' || (sc.status.kind === 'running' && (sc.profiles !== undefined || sc.configProblem !== undefined));
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const subs: vscode.Disposable[] = [];
      const timer = setTimeout(() => done(), SETTLE_MS);
      const done = (): void => {
        clearTimeout(timer);
        for (const s of subs) s.dispose();
        resolve();
      };
      subs.push(sc.onDidChange(() => ready() && done()), token.onCancellationRequested(done));
    });
  }

  /**
   * The existing browser sign-in (its notification has Cancel); true once it signed the profile in.
   * Resolves at the sign-in itself, not after the "Signed in" message that follows.
   */
  private signInFirst(entry: ProfileEntry): Promise<boolean> {
    const pending = this.signingIn.get(entry.name);
    if (pending) return pending;
    const signedIn = new Promise<boolean>((resolve) => {
      const sub = this.signIn.onDidSignIn((e) => {
        if (e.name !== entry.name) return;
        sub.dispose();
        resolve(true);
      });
      void this.signIn
        .signInAgain(entry)
        .then(
          () => resolve(false),
          () => resolve(false),
        )
        .finally(() => sub.dispose());
    }).finally(() => this.signingIn.delete(entry.name));
    this.signingIn.set(entry.name, signedIn);
    return signedIn;
  }

  private async fix(fix: McpFix): Promise<void> {
    if (fix.kind === 'signIn') await this.signIn.signIn();
    else await vscode.commands.executeCommand(fix.kind === 'restart' ? 'aliyun.restartSidecar' : OPEN_CONFIG_COMMAND);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}

/** Debug configurations of every type get the terminals' credentials variables (see the module comment). */
export function debugCredentials(terminals: Pick<TerminalEnv, 'credentialVariables'>): vscode.DebugConfigurationProvider {
  return {
    resolveDebugConfigurationWithSubstitutedVariables: (_folder, config) => withCredentialVariables(config, terminals.credentialVariables()),
  };
}

/** activate()'s one call: registers the MCP servers and the debug provider, disposed with the extension. */
export function registerAgents(
  context: Pick<vscode.ExtensionContext, 'subscriptions'>,
  sidecar: SidecarForAgents,
  signIn: SignInForAgents,
  terminals: Pick<TerminalEnv, 'credentialVariables'>,
  log: Log,
): void {
  const servers = new McpServers(sidecar, signIn, log);
  context.subscriptions.push(
    servers,
    vscode.lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, servers),
    vscode.debug.registerDebugConfigurationProvider('*', debugCredentials(terminals)),
  );
}
