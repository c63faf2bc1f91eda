/**
 * The status bar item as data: text, Markdown tooltip, background and click command, computed from
 * the sidecar's state, the last ProfileList and the clock. `statusBar.ts` only copies it onto a
 * StatusBarItem.
 */

import type { ConfigError, ProfileEntry, ProfileList, SiteInfo } from './contract';
import { positionText } from './errorModel';
import { identityState, identityTooltipLines, type IdentityState } from './identityModel';
import { escapeMarkdown, sessionEndsAt, stateReason, stateShort, viewState, type ViewState } from './profileView';
import { siteLabel } from './sites';
import { formatDuration, formatLocalTime, type TimeFormatter } from './time';

export type SidecarStatus =
  | { kind: 'starting' }
  | { kind: 'running' }
  /** Not running: `reason` is the sentence to show (e.g. Python missing or the process crashed). */
  | { kind: 'down'; reason: string };

export type StatusState = ViewState | 'starting' | 'down' | 'notSignedIn' | 'configInvalid';

/** The command the config-problem state runs: opens the file at the error's position. */
export const OPEN_CONFIG_COMMAND = 'aliyun.openConfigFile';

/**
 * Each way the file cannot be used (the contract's ConfigError kinds: the compiler wants one row per
 * kind): the status item's words and the tooltip's explanation.
 */
const CONFIG_VIEWS: Record<ConfigError['kind'], { what: (c: ConfigError) => string; detail: (c: ConfigError) => string }> = {
  configCorrupt: {
    what: (c) => `config file invalid${positionText(c)}`,
    detail: () => 'It is not valid JSON. Nothing is written to it until it is fixed; the CLI cannot read it either.',
  },
  configInsecure: {
    what: () => 'config file not safe',
    detail: (c) => `It ${c.reason === 'owner' ? 'is owned by another user' : 'can be written by other users'}, so it is not read.${c.fix ? ` Fix: ${c.fix}` : ''}`,
  },
  configUnavailable: {
    what: () => 'config file unreadable',
    detail: (c) => c.message || 'It cannot be read or written.',
  },
};

/** The config kinds that make every profile unknown (the file cannot be used at all). */
const CONFIG_KINDS: ReadonlySet<string> = new Set(Object.keys(CONFIG_VIEWS));

/**
 * A failed request's error → the file's problem, when it is one (`configCorrupt`, ...): the same
 * shape as the `aliyun/configError` notification, so both paths feed one state.
 */
export function configProblemOf(err: unknown): ConfigError | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { message?: unknown; data?: Record<string, unknown> };
  const data = e.data ?? {};
  if (typeof data.kind !== 'string' || !CONFIG_KINDS.has(data.kind)) return undefined;
  return { ...(data as object), kind: data.kind, message: String(e.message ?? ''), path: String(data.path ?? '') } as ConfigError;
}

export interface StatusView {
  state: StatusState;
  text: string;
  /** Markdown. */
  tooltip: string;
  /** Only a true `signInRequired` or an unusable config file gets a background (never a network error or a stopped sidecar). */
  background: 'warning' | undefined;
  command: string;
}

const NAME = 'Alibaba Cloud';

/** The identity shown for a profile (identity.ts answers from its cache). */
export type IdentityOf = (entry: ProfileEntry) => IdentityState;

/** Without a lookup: nothing is known yet. */
export const noIdentity: IdentityOf = (entry) => identityState(entry, undefined, false);

export function currentEntry(list: ProfileList | undefined): ProfileEntry | undefined {
  if (!list || !list.current) return undefined;
  return list.profiles.find((p) => p.name === list.current);
}

export function statusView(
  sidecar: SidecarStatus,
  list: ProfileList | undefined,
  now: number,
  fmt: TimeFormatter = formatLocalTime,
  identityOf: IdentityOf = noIdentity,
  /** The sidecar's site table (sites.ts), for the site's label. */
  sites: readonly SiteInfo[] = [],
  /** Set while the config file cannot be used: its state wins over every profile's. */
  config?: ConfigError,
): StatusView {
  if (config && sidecar.kind !== 'down') return configView(config);
  if (sidecar.kind === 'down') {
    return {
      state: 'down',
      text: `$(cloud) ${NAME}: off`,
      tooltip: `**${NAME}**: the sign-in helper is not running.\n\n${escapeMarkdown(sidecar.reason)}\n\nClick to restart it.`,
      background: undefined,
      command: 'aliyun.restartSidecar',
    };
  }
  if (sidecar.kind === 'starting' && !list) {
    return {
      state: 'starting',
      text: `$(sync~spin) ${NAME}`,
      tooltip: `**${NAME}**: starting…`,
      background: undefined,
      command: 'aliyun.showOutput',
    };
  }
  const entry = currentEntry(list);
  if (!entry) {
    return {
      state: 'notSignedIn',
      text: `$(cloud) ${NAME}: sign in`,
      tooltip: `**${NAME}**: not signed in.\n\nClick to sign in with your browser.`,
      background: undefined,
      command: list && list.profiles.length > 0 ? 'aliyun.switchProfile' : 'aliyun.signIn',
    };
  }
  const state = viewState(entry, now);
  return {
    state,
    text: statusText(entry, state, now),
    tooltip: tooltip(entry, list as ProfileList, now, fmt, identityOf(entry), sites),
    background: state === 'signInRequired' ? 'warning' : undefined,
    command: 'aliyun.switchProfile',
  };
}

/**
 * The file cannot be used: say so (a warning, never "sign in" or a stale "signed in"), and open the
 * file at the error on click.
 */
function configView(config: ConfigError): StatusView {
  const view = CONFIG_VIEWS[config.kind] ?? CONFIG_VIEWS.configUnavailable;
  const what = view.what(config);
  const detail = view.detail(config);
  return {
    state: 'configInvalid',
    text: `$(warning) ${NAME}: ${what}`,
    tooltip: `**${NAME}**: ${escapeMarkdown(what)}

${escapeMarkdown(config.path)}

${escapeMarkdown(detail)}

Click to open the file${positionText(config) ? ' at the error' : ''}.`,
    background: 'warning',
    command: OPEN_CONFIG_COMMAND,
  };
}

function statusText(entry: ProfileEntry, state: ViewState, now: number): string {
  // Short on purpose: one small item on the left; details live in the tooltip.
  switch (state) {
    case 'signInRequired':
      return `$(cloud) ${entry.name}: sign in`;
    case 'expiresSoon': {
      const end = sessionEndsAt(entry) ?? now;
      return `$(cloud) ${entry.name} · ${formatDuration(end - now)} left`;
    }
    default:
      return entry.region ? `$(cloud) ${entry.name} · ${entry.region}` : `$(cloud) ${entry.name}`;
  }
}

function tooltip(
  entry: ProfileEntry,
  list: ProfileList,
  now: number,
  fmt: TimeFormatter,
  identity: IdentityState,
  sites: readonly SiteInfo[],
): string {
  const lines: string[] = [`**${NAME}: profile \`${entry.name.replace(/`/g, "'")}\`**`, ''];
  lines.push(`State: ${escapeMarkdown(stateShort(entry, now))}`);
  lines.push(...identityTooltipLines(identity));
  lines.push(`Mode: ${escapeMarkdown(entry.mode || 'unknown')}`);
  if (entry.site) lines.push(`Site: ${escapeMarkdown(siteLabel(sites, entry.site))}`);
  lines.push(`Region: ${entry.region ? escapeMarkdown(entry.region) : '(none)'}`);
  const layer = (label: string, t: number | null): void => {
    if (t !== null) lines.push(`${label}: ${escapeMarkdown(fmt(t))}${t <= now ? ' (expired)' : ''}`);
  };
  layer('STS credentials expire', entry.stsExpiresAt);
  layer('Access token expires', entry.accessTokenExpiresAt);
  layer('Session (refresh token) ends', entry.refreshTokenExpiresAt);
  if (entry.state === 'notOAuth') lines.push('', 'Managed by the Alibaba Cloud CLI; this extension only shows it.');
  if (entry.sourceProfile) lines.push(`Source profile: ${escapeMarkdown(entry.sourceProfile)} (kept fresh for this chain)`);
  if (entry.state !== 'signInRequired' && entry.hasRefreshToken === false && entry.state !== 'notOAuth') {
    lines.push('', 'Signed in without a refresh token: a browser sign-in is needed when the access token expires.');
  }
  const why = stateReason(entry);
  if (entry.state === 'signInRequired') {
    lines.push('', `${why ? `Sign-in required: ${escapeMarkdown(why.long)}.` : 'The session has ended.'} Click and select the profile to sign in again.`);
  }
  lines.push('', `Config: ${escapeMarkdown(list.configPath)}`, '', 'Click to switch profile or sign in.');
  // Two trailing spaces = a Markdown line break inside a paragraph.
  return lines.join('  \n');
}
