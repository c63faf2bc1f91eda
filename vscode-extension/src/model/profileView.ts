/**
 * What the UI says about one profile. Shared by the status bar and the picker so that both always
 * agree (a status bar that says one thing while the picker says another is a top user complaint).
 */

import type { ProfileEntry, ProfileState, StateReason } from './contract';
import { formatDuration } from './time';

/** "Expires soon" = a browser sign-in will be needed within this many seconds. */
const EXPIRES_SOON_SECONDS = 10 * 60;

/** The sidecar's states (the contract's), plus `expiresSoon`, which only the clock can tell. */
export type ViewState = ProfileState | 'expiresSoon';

/**
 * When the profile can no longer be renewed without the browser, if known.
 *
 * The refresh token's expiry ends the session. Without one, and without an access token either,
 * nothing can renew the STS credentials, so they end it. `null` = unknown (never warn on a guess).
 */
export function sessionEndsAt(entry: ProfileEntry): number | null {
  if (entry.refreshTokenExpiresAt !== null) return entry.refreshTokenExpiresAt;
  // Signed in without a refresh token: the access token is all there is.
  if (entry.hasRefreshToken === false && entry.accessTokenExpiresAt !== null) return entry.accessTokenExpiresAt;
  if (entry.accessTokenExpiresAt === null) return entry.stsExpiresAt;
  return null;
}

/**
 * The state to show now. The sidecar's `state` was computed when the list was sent; the status bar
 * re-evaluates it every 30 s, so a `valid` whose STS time has passed shows as `refreshable` (the
 * sidecar renews it) — we never invent `signInRequired` locally: only the sidecar knows that a
 * refresh token was refused, and a network error must not paint the status bar.
 */
export function viewState(entry: ProfileEntry, now: number): ViewState {
  if (entry.state === 'notOAuth' || entry.state === 'signInRequired') return entry.state;
  const end = sessionEndsAt(entry);
  if (end !== null && end - now < EXPIRES_SOON_SECONDS) return 'expiresSoon';
  if (entry.state === 'valid' && entry.stsExpiresAt !== null && entry.stsExpiresAt <= now) return 'refreshable';
  return entry.state;
}

/** A short phrase for the picker's description and the tooltip. */
export function stateShort(entry: ProfileEntry, now: number): string {
  switch (viewState(entry, now)) {
    case 'valid':
      return 'signed in';
    case 'refreshable':
      return 'signed in (renewing)';
    case 'expiresSoon': {
      if (entry.stateReason === 'refreshTokenMayHaveExpired') return STATE_REASONS.refreshTokenMayHaveExpired.short;
      const end = sessionEndsAt(entry) ?? now;
      return end > now ? `session ends in ${formatDuration(end - now)}` : 'session ending';
    }
    case 'signInRequired':
      return 'sign-in required';
    case 'notOAuth':
      // The CLI creates its file with an empty "default" profile (no mode yet): say so, not "unknown".
      return entry.mode ? `${entry.mode} profile, not managed here` : 'empty profile (no credentials)';
  }
}

/** Markdown-escape a value that comes from the config file (profile names are user text). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (ch) => `\\${ch}`);
}

/** Why a profile needs the browser again (`stateReason`): a few words, then what it means. */
const STATE_REASONS: Record<StateReason, { short: string; long: string }> = {
  refreshTokenRefused: { short: 'refresh token refused', long: 'the service refused the refresh token (revoked, or used by another program)' },
  refreshTokenExpired: { short: 'session expired', long: 'the session (refresh token) has expired' },
  noRefreshToken: { short: 'no refresh token', long: 'it was signed in without a refresh token and its access token has expired' },
  clientNotAuthorized: {
    short: 'CLI application not authorized',
    long: 'the official-cli application is not installed in the account or not assigned to you (a RAM administrator must do both)',
  },
  unknownSite: { short: 'unknown site', long: 'its oauth_site_type is not a known site' },
  // Sent with `refreshable` only: the recorded expiry has passed, but the sidecar still tries the refresh.
  refreshTokenMayHaveExpired: { short: 'session may have expired', long: 'the session (refresh token) may have expired; it is renewed if the service still accepts it' },
};

/** The reason's words, when the sidecar sent a known one. */
export function stateReason(entry: ProfileEntry): { short: string; long: string } | undefined {
  return entry.state === 'signInRequired' && entry.stateReason ? STATE_REASONS[entry.stateReason] : undefined;
}
