/**
 * The MCP servers offered to AI agents (agents.ts registers them with VS Code), as data: which
 * servers, their labels, the command line that runs each, a version that changes whenever that
 * command line does, and what to do when VS Code asks to start one.
 *
 * Each server is the sidecar's `mcp` subcommand, run by the interpreter and code the sidecar runs
 * with (its `SidecarLaunch`):
 *
 *   <launch.command> <launch.args...> [--config-path PATH] [--endpoints JSON] mcp [--profile NAME]
 *     [--mode read-only|full] [--server core|NAME|URL]
 *
 * It speaks MCP on stdio and acts as the profile it is given: the current one, passed explicitly so
 * that the label and the process agree. A switch changes the label and the version, so VS Code
 * restarts the servers as the new profile.
 */

import { createHash } from 'node:crypto';
import type { ConfigError, ProfileEntry, ProfileList } from './contract';
import type { SidecarLaunch } from './interpreter';
import { currentEntry, type SidecarStatus } from './statusModel';
import type { SettingsGetter } from './settings';

export type McpMode = 'read-only' | 'full';

/** The account's Core server (found by discovery); any other entry is a custom server's name or URL. */
export const CORE_SERVER = 'core';

export interface McpSettings {
  enabled: boolean;
  /** Valid entries of `aliyun.mcp.servers`, in order, without duplicates. */
  servers: string[];
  mode: McpMode;
  /** Why entries were left out (`aliyun.mcp.servers[2]: …`), for the log; never the entry itself. */
  ignored: string[];
}

const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why a server entry cannot be used, or undefined when it can. */
function entryProblem(entry: string): string | undefined {
  if (!entry) return 'empty';
  if (entry.startsWith('-')) return 'it starts with "-"';
  if (/[\u0000-\u001f\u007f]/.test(entry)) return 'it holds a control character';
  if (!URL_SCHEME.test(entry)) return undefined;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return 'not a valid URL';
  }
  // As the sidecar checks `--server`: no user information or query (they would be named in
  // messages), and plain http only to this machine (a test server): a token never crosses a network
  // in the clear.
  if (url.username || url.password || url.search) return 'a server URL must not carry user information or a query';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return undefined;
  return 'a server URL must be https://';
}

/** `aliyun.mcp.*` → the settings; anything unusable reads as the safe default. */
export function mcpSettings(get: SettingsGetter): McpSettings {
  const enabled = get('mcp.enabled');
  const mode = get('mcp.mode');
  const raw = get('mcp.servers');
  const servers: string[] = [];
  const ignored: string[] = [];
  const list: unknown[] = Array.isArray(raw) ? raw : [CORE_SERVER];
  list.forEach((value, n) => {
    const entry = typeof value === 'string' ? value.trim() : '';
    const problem = typeof value === 'string' ? entryProblem(entry) : 'not a string';
    if (problem) ignored.push(`aliyun.mcp.servers[${n}]: ${problem}`);
    else if (!servers.includes(entry)) servers.push(entry);
  });
  return { enabled: enabled !== false, servers, mode: mode === 'full' ? 'full' : 'read-only', ignored };
}

/** How a server is named in its label: none for Core, the name, or a URL's host and path. */
export function serverName(server: string): string | undefined {
  if (server === CORE_SERVER) return undefined;
  if (!URL_SCHEME.test(server)) return server;
  try {
    const url = new URL(server);
    return `${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return server;
  }
}

/** `Alibaba Cloud (dev, read-only)`, `Alibaba Cloud ecs-tools (dev, full access)`. */
export function mcpLabel(server: string, profile: string | undefined, mode: McpMode): string {
  const name = serverName(server);
  const access = mode === 'full' ? 'full access' : 'read-only';
  return `Alibaba Cloud${name ? ` ${name}` : ''} (${profile ?? 'not signed in'}, ${access})`;
}

export interface McpCommandInputs {
  launch: Pick<SidecarLaunch, 'command' | 'args' | 'cwd'>;
  /** `aliyun.configPath`, `~` expanded (settings.configPathOption); undefined = the default file. */
  configPath: string | undefined;
  /** settings.endpointsOption with every key; undefined or empty = production. */
  endpoints: Readonly<Record<string, string>> | undefined;
  server: string;
  /** undefined: the server follows the file's `current`. */
  profile: string | undefined;
  mode: McpMode;
}

/** The arguments after `launch.command` (see the module comment). */
export function mcpArgs(i: McpCommandInputs): string[] {
  const args = [...i.launch.args];
  if (i.configPath) args.push('--config-path', i.configPath);
  if (i.endpoints && Object.keys(i.endpoints).length) args.push('--endpoints', JSON.stringify(i.endpoints));
  args.push('mcp');
  if (i.profile) args.push('--profile', i.profile);
  args.push('--mode', i.mode, '--server', i.server);
  return args;
}

/** Changes exactly when the command line or its folder does (profile, mode, server, endpoints, launch). */
export function mcpVersion(command: string, args: readonly string[], cwd: string): string {
  return createHash('sha256').update(JSON.stringify([command, args, cwd])).digest('hex').slice(0, 16);
}

export interface McpServerPlan {
  label: string;
  command: string;
  args: string[];
  cwd: string;
  version: string;
  server: string;
  profile: string | undefined;
}

export interface McpPlanInputs {
  settings: Pick<McpSettings, 'enabled' | 'servers' | 'mode'>;
  /** The current profile (the last one known while the sidecar restarts). */
  profile: string | undefined;
  /** How the sidecar was launched; undefined until an interpreter was found (nothing could run). */
  launch: Pick<SidecarLaunch, 'command' | 'args' | 'cwd'> | undefined;
  configPath: string | undefined;
  endpoints: Readonly<Record<string, string>> | undefined;
}

/** One server per entry of `aliyun.mcp.servers`; none when disabled or when nothing can run them. */
export function mcpServerPlans(i: McpPlanInputs): McpServerPlan[] {
  const launch = i.launch;
  if (!i.settings.enabled || !launch) return [];
  return i.settings.servers.map((server) => {
    const args = mcpArgs({ launch, configPath: i.configPath, endpoints: i.endpoints, server, profile: i.profile, mode: i.settings.mode });
    const label = mcpLabel(server, i.profile, i.settings.mode);
    return { label, command: launch.command, args, cwd: launch.cwd, version: mcpVersion(launch.command, args, launch.cwd), server, profile: i.profile };
  });
}

/** Equal for equal plans: the definitions changed when this does. */
export function plansKey(plans: readonly McpServerPlan[]): string {
  return JSON.stringify(plans.map((p) => [p.label, p.version]));
}

/** What the refusal message's one button does. */
export type McpFix = { title: 'Sign In'; kind: 'signIn' } | { title: 'Restart Sidecar'; kind: 'restart' } | { title: 'Open File'; kind: 'openConfig' };

export type McpStart =
  | { kind: 'start' }
  /** The profile needs a browser sign-in: run it first; start only if it succeeds. */
  | { kind: 'signIn'; entry: ProfileEntry }
  /** Do not start: one log line, one message with a button. */
  | { kind: 'refuse'; log: string; message: string; fix: McpFix };

/** When VS Code asks to start the server `label` (agents.ts waits for a starting sidecar first). */
export function mcpStartDecision(
  label: string,
  status: SidecarStatus,
  list: ProfileList | undefined,
  configProblem: ConfigError | undefined,
): McpStart {
  const notStarted = `MCP server "${label}" was not started`;
  if (status.kind !== 'running') {
    return {
      kind: 'refuse',
      log: `${notStarted}: the sign-in helper is not running.`,
      message: `${notStarted}: the Alibaba Cloud sign-in helper is not running. Restart it ("Alibaba Cloud: Restart Sidecar"), sign in if the status bar asks you to, then start the server again.`,
      fix: { title: 'Restart Sidecar', kind: 'restart' },
    };
  }
  if (configProblem) {
    return {
      kind: 'refuse',
      log: `${notStarted}: the config file ${configProblem.path} cannot be used (${configProblem.kind}).`,
      message: `${notStarted}: the Alibaba Cloud config file cannot be used. Fix it (the status bar item opens it), then start the server again.`,
      fix: { title: 'Open File', kind: 'openConfig' },
    };
  }
  const entry = currentEntry(list);
  if (!entry) {
    return {
      kind: 'refuse',
      log: `${notStarted}: no profile is signed in.`,
      message: `${notStarted}: you are not signed in to Alibaba Cloud. Sign in ("Alibaba Cloud: Sign In", or the status bar item), then start the server again.`,
      fix: { title: 'Sign In', kind: 'signIn' },
    };
  }
  // As the status bar decides "sign in": only a browser sign-in helps (a refreshable profile renews itself).
  return entry.state === 'signInRequired' ? { kind: 'signIn', entry } : { kind: 'start' };
}

/** The log line when the sign-in that a start needed did not succeed. */
export function signInAbandonedLog(label: string, profile: string): string {
  return `MCP server "${label}" was not started: the sign-in of "${profile}" was cancelled or failed.`;
}
