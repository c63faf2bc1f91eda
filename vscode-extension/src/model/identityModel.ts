/**
 * "Who am I": the caller identity of a profile (`aliyun/whoAmI`) as words for the status bar tooltip,
 * the profile picker and the Who Am I message, and when to look it up. No vscode import.
 */

import type { Identity, ProfileEntry } from './contract';
import { escapeMarkdown } from './profileView';

/** JSON-RPC "method not found": a sidecar without `aliyun/whoAmI`. */
const METHOD_NOT_FOUND = -32601;

/** A failed lookup is tried again (on the next change of the profile) after this many seconds. */
export const RETRY_AFTER_SECONDS = 60;

export type UnknownReason = 'notFetched' | 'failed' | 'unsupported' | 'notOAuth' | 'signInRequired';

export type IdentityState = { kind: 'known'; identity: Identity } | { kind: 'unknown'; reason: UnknownReason };

/** What the extension remembers of a profile's last lookup. */
export type CachedIdentity = { kind: 'known'; identity: Identity } | { kind: 'failed'; at: number };

export function isMethodNotFound(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === METHOD_NOT_FOUND;
}

/** `acs:ram::<account>:<resource>` → its parts; `undefined` for anything else. */
function parseArn(arn: string): { account: string; resource: string } | undefined {
  const m = /^acs:ram::(\d*):(.+)$/.exec(arn ?? '');
  return m ? { account: m[1]!, resource: m[2]! } : undefined;
}

/** "RAM user dev in account 1234567890123456", "role dev-role (session x) in account …". */
export function describeIdentity(id: Identity): string {
  const arn = parseArn(id.arn);
  const account = id.accountId || arn?.account || '';
  const inAccount = account ? ` in account ${account}` : '';
  const resource = arn?.resource ?? '';
  switch (id.identityType) {
    case 'RAMUser': {
      const name = resource.startsWith('user/') ? resource.slice('user/'.length) : id.userId || id.principalId;
      return `RAM user ${name}${inAccount}`;
    }
    case 'AssumedRoleUser': {
      // acs:ram::<account>:assumed-role/<role>/<session>; principalId = <roleId>:<session>.
      const [kind, role, ...session] = resource.split('/');
      const sessionName = session.join('/') || id.principalId.split(':').slice(1).join(':');
      const roleName = kind === 'assumed-role' && role ? role : 'assumed role';
      return `role ${roleName}${sessionName ? ` (session ${sessionName})` : ''}${inAccount}`;
    }
    case 'Account':
      return `root user of account ${account || '?'}`;
    default:
      return `${id.identityType || 'identity'} ${id.arn || id.principalId}`.trim();
  }
}

const UNKNOWN_TEXT: Record<UnknownReason, string> = {
  notFetched: 'identity unknown (not looked up yet)',
  failed: 'identity unknown (the lookup failed)',
  unsupported: 'identity unknown (this sidecar cannot look it up)',
  notOAuth: 'identity unknown (not looked up for profiles of other modes)',
  signInRequired: 'identity unknown (sign in again)',
};

/** One line: the picker's detail. */
export function identityText(state: IdentityState): string {
  return state.kind === 'known' ? describeIdentity(state.identity) : UNKNOWN_TEXT[state.reason];
}

/** Markdown lines for the status bar tooltip. */
export function identityTooltipLines(state: IdentityState): string[] {
  if (state.kind !== 'known') return [`Identity: ${escapeMarkdown(identityText(state))}`];
  const lines = [`Identity: ${escapeMarkdown(describeIdentity(state.identity))}`];
  if (state.identity.arn) lines.push(`ARN: \`${state.identity.arn.replace(/`/g, "'")}\``);
  return lines;
}

/** What to show for a profile, from what was remembered of it. */
export function identityState(entry: ProfileEntry, cached: CachedIdentity | undefined, unsupported: boolean): IdentityState {
  if (cached?.kind === 'known') return cached;
  if (entry.state === 'notOAuth') return { kind: 'unknown', reason: 'notOAuth' };
  if (unsupported) return { kind: 'unknown', reason: 'unsupported' };
  if (entry.state === 'signInRequired') return { kind: 'unknown', reason: 'signInRequired' };
  return { kind: 'unknown', reason: cached?.kind === 'failed' ? 'failed' : 'notFetched' };
}

/**
 * Whether to ask the sidecar now. The identity of a profile only changes with a new sign-in, so a
 * known one is kept (a sign-in through the extension, a sidecar restart or "Who Am I" forget it); a
 * failed lookup is retried after RETRY_AFTER_SECONDS; profiles of other modes and profiles that need
 * the browser are never asked about (the lookup would fail, or renew credentials it should not).
 */
export function shouldLookUp(entry: ProfileEntry | undefined, cached: CachedIdentity | undefined, unsupported: boolean, now: number): boolean {
  if (!entry || unsupported || entry.state === 'notOAuth' || entry.state === 'signInRequired') return false;
  if (!cached) return true;
  return cached.kind === 'failed' && now - cached.at >= RETRY_AFTER_SECONDS;
}

/** Every fact of an identity, one per line (the Who Am I dialog's detail: nothing cut off). */
export function identityDetail(id: Identity): string {
  const rows: Array<[string, string | null | undefined]> = [
    ['ARN', id.arn],
    ['Account', id.accountId],
    ['Type', id.identityType],
    ['Principal id', id.principalId],
    ['User id', id.userId],
    ['Role id', id.roleId],
  ];
  return rows
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}
