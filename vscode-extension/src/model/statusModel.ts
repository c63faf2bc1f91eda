/**
 * The status bar item as data: text, Markdown tooltip, background and click command, computed from
 * the sidecar's state, the last ProfileList and the clock. `statusBar.ts` only copies it onto a
 * StatusBarItem.
 */

import type { ProfileEntry, ProfileList, SiteInfo } from './contract';
import { identityState, identityTooltipLines, type IdentityState } from './identityModel';
import { escapeMarkdown, sessionEndsAt, stateShort, viewState, type ViewState } from './profileView';
import { siteLabel } from './sites';
import { formatDuration, formatLocalTime, type TimeFormatter } from './time';

export type SidecarStatus =
  | { kind: 'starting' }
  | { kind: 'running' }
  /** Not running: `reason` is the sentence to show (e.g. Python missing or the process crashed). */
  | { kind: 'down'; reason: string };

export type StatusState = ViewState | 'starting' | 'down' | 'notSignedIn';

export interface StatusView {
  state: StatusState;
  text: string;
  /** Markdown. */
  tooltip: string;
  /** Only a true `signInRequired` gets a background (never a network error or a stopped sidecar). */
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
): StatusView {
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
  if (entry.state === 'signInRequired') lines.push('', 'The session has ended: click and select the profile to sign in again.');
  lines.push('', `Config: ${escapeMarkdown(list.configPath)}`, '', 'Click to switch profile or sign in.');
  // Two trailing spaces = a Markdown line break inside a paragraph.
  return lines.join('  \n');
}
