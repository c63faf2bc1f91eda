/**
 * Settings → `initializationOptions`, and which setting changes need a sidecar restart. Reads go
 * through a `get(key)` function so that tests need no VS Code (client.ts passes
 * `workspace.getConfiguration('aliyun').get`).
 */

import type { InitializationOptions, LogLevel } from './contract';

export type SettingsGetter = (key: string) => unknown;

/** Settings (below `aliyun.`) whose change restarts the sidecar: they go into `initialize`. */
const RESTART_SETTINGS = [
  'sidecar.pythonPath',
  'sidecar.logLevel',
  'sidecar.keepFresh',
  'configPath',
  'endpoints',
  'callbackPorts',
] as const;

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

export function validPortRange(v: unknown): [number, number] | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [first, last] = v as unknown[];
  const ok = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= 1024 && p <= 65535;
  return ok(first) && ok(last) && first <= last ? [first, last] : undefined;
}

/**
 * Only what the user set is sent: the sidecar owns every default (config path, ports, endpoints),
 * so an unset setting leaves the field out instead of repeating a default here.
 */
export function initializationOptions(get: SettingsGetter, home: string): InitializationOptions {
  const opts: InitializationOptions = {};
  const configPath = nonEmpty(get('configPath'));
  if (configPath) opts.configPath = expandHome(configPath, home);

  const endpoints: NonNullable<InitializationOptions['endpoints']> = {};
  for (const key of ['signinBase', 'oauthBase', 'stsEndpoint'] as const) {
    const value = nonEmpty(get(`endpoints.${key}`));
    if (value) endpoints[key] = value;
  }
  if (Object.keys(endpoints).length) opts.endpoints = endpoints;

  const ports = validPortRange(get('callbackPorts'));
  if (ports) opts.callbackPorts = ports;

  const keepFresh = get('sidecar.keepFresh');
  if (typeof keepFresh === 'boolean') opts.keepFresh = keepFresh;

  const level = get('sidecar.logLevel');
  if (typeof level === 'string' && (LOG_LEVELS as readonly string[]).includes(level)) opts.logLevel = level as LogLevel;
  return opts;
}

/** Whether a configuration change event touches the sidecar (`affects` = event.affectsConfiguration). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTINGS.some((key) => affects(`aliyun.${key}`));
}
