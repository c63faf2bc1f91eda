/**
 * Settings → `initializationOptions`, and which setting changes need a sidecar restart. Reads go
 * through a `get(key)` function so that tests need no VS Code (client.ts passes
 * `workspace.getConfiguration('aliyun').get`).
 */

import { CALLBACK_PORT_MAX, CALLBACK_PORT_MIN, type InitializationOptions, type LogLevel } from './contract';

export type SettingsGetter = (key: string) => unknown;

/** The endpoint settings (`aliyun.endpoints.<key>`) that the sidecar's `initialize` takes. */
export const SIDECAR_ENDPOINTS = ['signinBase', 'oauthBase', 'stsEndpoint'] as const;

/**
 * The endpoint settings that only the `mcp` subcommand takes (its `--endpoints`, with the above):
 * the RAM OAuth API, the OpenAPI MCP service and the safe-policy service. Changing one restarts the
 * MCP servers, not the sidecar.
 */
export const MCP_ENDPOINTS = ['ramoauthEndpoint', 'openapiMcpEndpoint', 'safePolicyEndpoint'] as const;

export type EndpointKey = (typeof SIDECAR_ENDPOINTS)[number] | (typeof MCP_ENDPOINTS)[number];

/** Settings (below `aliyun.`) whose change restarts the sidecar: they go into `initialize`. */
const RESTART_SETTINGS = [
  'sidecar.pythonPath',
  'sidecar.logLevel',
  'sidecar.keepFresh',
  'configPath',
  ...SIDECAR_ENDPOINTS.map((k) => `endpoints.${k}`),
  'callbackPorts',
] as const;

/**
 * Settings a folder may not choose (below `aliyun.`): each picks code (the Python that runs), files
 * (where the user's tokens are written) or endpoints (where the refresh token and the authorization
 * code are sent), so a cloned repository's `.vscode/settings.json` must not set them, trusted or
 * not. package.json gives them scope `machine` (VS Code then shows them only in User/Remote
 * settings), and `userOnlyGetter` reads them from there only. A key under a prefix (`endpoints.`,
 * `mcp.`) is user-only with no new entry: later endpoint or MCP host settings are covered already.
 * tests/settings.test.ts checks this table against package.json.
 */
export const USER_ONLY_SETTINGS: readonly string[] = ['sidecar.pythonPath', 'configPath', 'callbackPorts', 'endpoints.', 'mcp.'];

export function isUserOnly(key: string): boolean {
  return USER_ONLY_SETTINGS.some((k) => (k.endsWith('.') ? key.startsWith(k) : key === k));
}

/** What `WorkspaceConfiguration.inspect(key)` answers (the fields used here). */
export interface InspectedSetting {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/**
 * A getter (below `aliyun.`) that takes a user-only setting from the user (or, in a remote window,
 * the remote) settings or its default, never from the workspace or a workspace folder, and tells
 * `onIgnored` once per key (per getter) that a folder's value was ignored. Other settings read as
 * usual. `inspect` is `getConfiguration('aliyun').inspect`.
 */
export function userOnlyGetter(
  get: SettingsGetter,
  inspect: (key: string) => InspectedSetting | undefined,
  onIgnored: (key: string) => void,
): SettingsGetter {
  const told = new Set<string>();
  return (key) => {
    if (!isUserOnly(key)) return get(key);
    const seen = inspect(key);
    if (seen && (seen.workspaceValue !== undefined || seen.workspaceFolderValue !== undefined) && !told.has(key)) {
      told.add(key);
      onIgnored(key);
    }
    return seen?.globalValue !== undefined ? seen.globalValue : seen?.defaultValue;
  };
}

/** The one log line for an ignored folder value. */
export function ignoredSettingMessage(key: string): string {
  return `Ignored the workspace's value of aliyun.${key}: it chooses code, files or endpoints, so only User or Remote settings set it.`;
}

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warning', 'info', 'debug'];

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** `~` and `~/x` as the user's home: people type paths the way the CLI documents them. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/') || path.startsWith('~\\')) return home + path.slice(1);
  return path;
}

/** `[first, last]` within the sidecar's port bounds (from the contract), else undefined. */
export function validPortRange(v: unknown): [number, number] | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [first, last] = v as unknown[];
  const ok = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= CALLBACK_PORT_MIN && p <= CALLBACK_PORT_MAX;
  return ok(first) && ok(last) && first <= last ? [first, last] : undefined;
}

/**
 * Only what the user set is sent: the sidecar owns every default (config path, ports, endpoints),
 * so an unset setting leaves the field out instead of repeating a default here.
 */
export function initializationOptions(get: SettingsGetter, home: string): InitializationOptions {
  const opts: InitializationOptions = {};
  const configPath = configPathOption(get, home);
  if (configPath) opts.configPath = configPath;

  const endpoints = endpointsOption(get);
  if (endpoints) opts.endpoints = endpoints;

  const ports = validPortRange(get('callbackPorts'));
  if (ports) opts.callbackPorts = ports;

  const keepFresh = get('sidecar.keepFresh');
  if (typeof keepFresh === 'boolean') opts.keepFresh = keepFresh;

  const level = get('sidecar.logLevel');
  if (typeof level === 'string' && (LOG_LEVELS as readonly string[]).includes(level)) opts.logLevel = level as LogLevel;
  return opts;
}

/** `aliyun.configPath` with `~` expanded; undefined when unset (the sidecar's default). */
export function configPathOption(get: SettingsGetter, home: string): string | undefined {
  const configPath = nonEmpty(get('configPath'));
  return configPath ? expandHome(configPath, home) : undefined;
}

/**
 * The `endpoints` object from the `aliyun.endpoints.<key>` settings that are set, for `keys` (the
 * sidecar's by default; the MCP subcommand passes all of them); undefined when none is set.
 */
export function endpointsOption(get: SettingsGetter, keys: readonly EndpointKey[] = SIDECAR_ENDPOINTS): Partial<Record<EndpointKey, string>> | undefined {
  const endpoints: Partial<Record<EndpointKey, string>> = {};
  for (const key of keys) {
    const value = nonEmpty(get(`endpoints.${key}`));
    if (value) endpoints[key] = value;
  }
  return Object.keys(endpoints).length ? endpoints : undefined;
}

/** Whether a configuration change event touches the sidecar (`affects` = event.affectsConfiguration). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTINGS.some((key) => affects(`aliyun.${key}`));
}
