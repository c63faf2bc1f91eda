/**
 * From an error answer of the sidecar (its `data.kind`) to one human sentence that says what happened
 * and what to do next, plus the buttons that do it. errors.ts shows the result; this file has no
 * vscode import so that every sentence is unit-tested.
 */

import { Methods, Notifications, REQUEST_CANCELLED, type ErrorData, type ErrorKind } from './contract';

/** The user documentation we mirror (install official-cli, assign users, the FAQ). */
export const OAUTH_DOCS_URL = 'https://www.alibabacloud.com/help/en/cli/oauth-credentials';

export type ErrorActionKind =
  | 'openDocs'
  | 'signIn'
  | 'retry'
  | 'openSettings'
  | 'showOutput'
  | 'restartSidecar'
  | 'openConfig'
  | 'runCommand';

export interface ErrorActionView {
  title: string;
  kind: ErrorActionKind;
  /** openDocs: the URL; openSettings: the setting id; openConfig: the file path; signIn: profile; runCommand: the command id. */
  arg?: string;
  /** openConfig: where to put the cursor (1-based), when the error names a position. */
  line?: number;
  column?: number;
}

/** One line for the output channel, at its level. */
export interface LogLine {
  level: 'error' | 'warn' | 'info';
  text: string;
}

export interface ErrorView {
  severity: 'error' | 'warning';
  message: string;
  actions: ErrorActionView[];
  /** The one log line of this failure: its cause and the next step. */
  log: LogLine;
}

/** The request the error answered, to word the sentence (e.g. `cancelled` of a paste-back). */
export interface ErrorContext {
  method?: string;
  profile?: string;
}

/** Thrown by the client wrapper when no sidecar is running (start failed, crashed, stopped). */
export class SidecarDownError extends Error {
  readonly kind = 'sidecarDown';
  constructor(
    readonly reason: string,
    /** The one button that fixes it (e.g. no usable Python: "Install Python"), when known. */
    readonly fix?: ErrorActionView,
  ) {
    super(reason);
  }
}

interface RpcErrorLike {
  code?: number;
  message?: string;
  data?: Record<string, unknown>;
}

function asRpcError(err: unknown): RpcErrorLike {
  if (err && typeof err === 'object') return err as RpcErrorLike;
  return { message: String(err) };
}

export function errorKind(err: unknown): ErrorKind | 'sidecarDown' | undefined {
  if (err instanceof SidecarDownError) return 'sidecarDown';
  const e = asRpcError(err);
  const kind = e.data && typeof e.data.kind === 'string' ? (e.data.kind as ErrorKind) : undefined;
  if (kind) return kind;
  if (e.code === REQUEST_CANCELLED) return 'cancelled';
  return undefined;
}

/** True when the user cancelled (nothing to say). */
export function isCancelled(err: unknown): boolean {
  return errorKind(err) === 'cancelled';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** The service's own "not authorized" wording (its page and its `error_description`). */
const NOT_AUTHORIZED_TEXT = /not authori[sz]ed|not allowed/i;

/** The contract's `signInDenied` reasons. */
export type DenyReason = NonNullable<ErrorData['signInDenied']['reason']>;

/** Every DenyReason (the compiler wants each of the contract's), to accept only those from the wire. */
const DENY_REASONS: Record<DenyReason, true> = { userDenied: true, notAuthorized: true, other: true };

/**
 * Why the browser came back with an error: the sidecar's `data.reason` when it sends one, else read
 * from the error the same way (a bare `access_denied` is the user's own Deny; the service's "The call
 * is not authorized" wording is the missing application or assignment).
 */
export function denyReason(data: Record<string, unknown>): DenyReason {
  const reason = data.reason;
  if (typeof reason === 'string' && Object.hasOwn(DENY_REASONS, reason)) return reason as DenyReason;
  const error = str(data.error);
  if (NOT_AUTHORIZED_TEXT.test(`${error} ${str(data.description)}`)) return 'notAuthorized';
  return error === 'access_denied' ? 'userDenied' : 'other';
}

/** The administrator's two steps of the documentation (install the application, assign the user). */
const ADMIN_STEPS =
  'a RAM administrator must (1) install the official-cli application (RAM console → Integrations → OAuth → ' +
  'Third-party Application → Provision Official Application → Official CLI) and (2) assign you to it ' +
  '(official-cli → Assignments → Create Assignment)';

/** The subject of a log line, per request (`of` = ` of "profile"` or ''); others name the method. */
const SUBJECTS: Record<string, (of: string, profile: string) => string> = {
  [Methods.signIn]: (of) => `Sign-in${of}`,
  [Methods.completeSignIn]: () => 'Paste redirect URL',
  [Methods.refresh]: (of) => `Refresh${of}`,
  [Methods.whoAmI]: (of) => `Who Am I${of}`,
  [Methods.switchProfile]: (_, profile) => `Switch to "${profile}"`,
  [Methods.deleteProfile]: (_, profile) => `Delete "${profile}"`,
  [Methods.listProfiles]: () => 'Reading the profiles',
  [Methods.getCredentials]: (of) => `Credentials${of}`,
  [Notifications.configError]: () => 'The config file',
};

/** The subject of the log line: which request failed. */
function subject(ctx: ErrorContext, profile: string): string {
  const of = profile ? ` of "${profile}"` : '';
  const known = ctx.method ? SUBJECTS[ctx.method] : undefined;
  if (known) return known(of, profile);
  return ctx.method ? `${ctx.method}${of}` : 'Alibaba Cloud';
}

/** One sentence per kind: what the user reads (`message`) and what the log says (`cause`, `next`). */
interface Described {
  severity: 'error' | 'warning';
  message: string;
  actions: ErrorActionView[];
  /** The cause, for the log line (no secrets: only facts of `data`). */
  cause: string;
  /** The next step, for the log line. */
  next: string;
}

/** The fields of a config error that say where it is (a ConfigError or an error's `data`). */
export type ConfigWhere = { line?: unknown; column?: unknown; where?: unknown };

/**
 * The 1-based position of a config syntax error: `data.line`/`data.column`, or (a sidecar that sends
 * only `where`) the "line N, column M" inside it.
 */
export function configPosition(data: ConfigWhere): { line: number; column: number } | undefined {
  const line = Number(data.line);
  const column = Number(data.column);
  if (Number.isInteger(line) && line > 0) return { line, column: Number.isInteger(column) && column > 0 ? column : 1 };
  const m = /\bline (\d+),? column (\d+)/.exec(str(data.where));
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

/** ` (line 3, column 7)` when the position is known, else the sidecar's `where`, else ''. */
export function positionText(data: ConfigWhere): string {
  const at = configPosition(data);
  if (at) return ` (line ${at.line}, column ${at.column})`;
  return data.where ? ` (${str(data.where)})` : '';
}

/** The "Open File" action at the error's position (1-based line and column, when known). */
function openConfigAction(data: Record<string, unknown>): ErrorActionView | undefined {
  const path = str(data.path);
  if (!path) return undefined;
  return { title: 'Open File', kind: 'openConfig', arg: path, ...configPosition(data) };
}

/** What a sentence is told about one failure. */
interface Said {
  /** The answer's `data` (from the wire: every field is checked before use). */
  data: Record<string, unknown>;
  /** The sidecar's own message (secret-free by its rule), trimmed. */
  serverMessage: string;
  kind: string;
  profile: string;
  /** ` of profile "dev"`, or ''. */
  ofProfile: string;
  ctx: ErrorContext;
  /** The buttons most sentences offer. */
  showOutput: ErrorActionView;
  signIn: ErrorActionView;
  docs: ErrorActionView;
  retry: ErrorActionView;
  restart: ErrorActionView;
}

function said(err: unknown, ctx: ErrorContext): Said {
  const e = asRpcError(err);
  const data = e.data ?? {};
  const profile = str(data.profile) || ctx.profile || '';
  return {
    data,
    serverMessage: str(e.message).trim(),
    kind: str(errorKind(err)),
    profile,
    ofProfile: profile ? ` of profile "${profile}"` : '',
    ctx,
    showOutput: { title: 'Show Output', kind: 'showOutput' },
    signIn: { title: 'Sign In', kind: 'signIn', arg: profile || undefined },
    docs: { title: 'Open Documentation', kind: 'openDocs', arg: OAUTH_DOCS_URL },
    retry: { title: 'Retry', kind: 'retry' },
    restart: { title: 'Restart', kind: 'restartSidecar' },
  };
}

/** A kind's sentence: `undefined` = stay silent (the user's own cancel). */
type Sentence = (s: Said) => Described | undefined;

/** No sidecar to ask: it did not start, crashed or stopped (SidecarDownError, not an answer's kind). */
function sidecarDown(err: SidecarDownError, s: Said): Described {
  const reason = str(err.reason);
  if (s.ctx.method === Methods.signIn) {
    return {
      severity: 'warning',
      message: `The sign-in${s.ofProfile} was interrupted: the Alibaba Cloud sign-in helper stopped or restarted. Sign in again.`,
      actions: [s.signIn, s.showOutput],
      // The reason is a sentence of its own (SidecarDownError's): joined, not nested in parentheses.
      cause: `the sidecar stopped or restarted while waiting${reason ? `: ${reason.replace(/\.\s*$/, '')}` : ''}`,
      next: 'sign in again',
    };
  }
  const fix = err.fix;
  return {
    severity: 'error',
    // A reason that comes with its fix (no usable Python) is a whole sentence naming the extension
    // and the cause: a "not running" prefix would only say it twice.
    message: fix ? reason : `Alibaba Cloud: the sign-in helper is not running. ${reason}`.trim(),
    actions: fix ? [fix] : [s.restart, { title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.sidecar.pythonPath' }, s.showOutput],
    cause: `the sidecar is not running (${reason || 'no reason given'})`,
    next: 'fix the cause, then run "Alibaba Cloud: Restart Sidecar"',
  };
}

function cancelled(s: Said): Described | undefined {
  if (s.ctx.method !== Methods.completeSignIn) return undefined;
  return {
    severity: 'warning',
    message: 'No sign-in is waiting for a redirect URL. Start "Alibaba Cloud: Sign In" first, then paste the address.',
    actions: [s.signIn],
    cause: 'no sign-in was waiting for the pasted address',
    next: 'start a sign-in first',
  };
}

function signInDenied(s: Said): Described {
  const error = str(s.data.error);
  const description = str(s.data.description);
  switch (denyReason(s.data)) {
    case 'userDenied':
      return {
        severity: 'warning',
        message: `Sign-in${s.ofProfile} cancelled: Deny was chosen on the Alibaba Cloud page. Nothing was changed. Sign in again and choose Authorize to continue.`,
        actions: [s.signIn],
        cause: 'Deny was chosen on the sign-in page (signInDenied, userDenied)',
        next: 'sign in again and choose Authorize',
      };
    case 'notAuthorized':
      return {
        severity: 'error',
        message:
          `Alibaba Cloud answered "The call is not authorized": your account cannot use the Alibaba Cloud CLI sign-in yet. ` +
          `To allow it, ${ADMIN_STEPS}. Then sign in again.`,
        actions: [s.docs, s.signIn],
        cause: `the service answered "not authorized" (signInDenied, notAuthorized${error ? `, ${error}` : ''})`,
        next: 'a RAM administrator installs the official-cli application and assigns the user to it; then sign in again',
      };
    default:
      return {
        severity: 'error',
        message: `Sign-in was refused by Alibaba Cloud (${error || 'unknown error'}${description ? `: ${description}` : ''}). Try again, or ask your RAM administrator.`,
        actions: [s.signIn, s.docs],
        cause: `the service refused the sign-in (signInDenied, ${error || 'unknown error'})`,
        next: 'sign in again; if it persists, ask the RAM administrator',
      };
  }
}

function signInTimeout(s: Said): Described {
  const seconds = Number(s.data.seconds);
  const within = Number.isFinite(seconds) && seconds > 0 ? ` within ${seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${seconds} seconds`}` : ' in time';
  return {
    severity: 'warning',
    message:
      `The browser did not come back${within}. If the page said "The call is not authorized", it never comes back: ${ADMIN_STEPS}. ` +
      'If you did press Authorize and the browser cannot reach VS Code (remote, WSL, a proxy), sign in again and use "Paste redirect URL…" with the address the browser shows.',
    actions: [s.signIn, s.docs],
    cause: `no answer from the browser${within} (signInTimeout${s.data.mayBeNotAuthorized ? '; the account may not be authorized, whose page never redirects' : ''})`,
    next: 'sign in again (paste the redirect URL if the browser cannot reach VS Code); if the page said "not authorized", the RAM administrator must install and assign official-cli',
  };
}

function clientNotAuthorized(s: Said): Described {
  const error = str(s.data.error);
  return {
    severity: 'error',
    message:
      `Alibaba Cloud refused the Alibaba Cloud CLI application${s.ofProfile}${error ? ` (${error})` : ''}: it is not installed in the account, or you are not assigned to it. ` +
      `To fix it, ${ADMIN_STEPS}. Then sign in again.`,
    actions: [s.docs, s.signIn],
    cause: `the service refused the official-cli application (clientNotAuthorized${error ? `, ${error}` : ''}${s.data.requestId ? `, request id ${str(s.data.requestId)}` : ''})`,
    next: 'a RAM administrator installs official-cli and assigns the user; then sign in again',
  };
}

function unknownSite(s: Said): Described {
  const site = str(s.data.site);
  const valid = Array.isArray(s.data.valid) ? (s.data.valid as unknown[]).map(str).join(', ') : 'CN, INTL';
  return {
    severity: 'error',
    message: `Profile "${s.profile}" names an unknown site "${site}" (oauth_site_type; valid: ${valid}). Nothing was sent. Sign in again to choose a site, or fix the config file.`,
    actions: [s.signIn],
    cause: `unknown oauth_site_type "${site}" (unknownSite; valid: ${valid})`,
    next: 'sign in again and choose a site, or fix oauth_site_type in the config file',
  };
}

function configInsecure(s: Said): Described {
  const path = str(s.data.path);
  const why = s.data.reason === 'owner' ? 'is owned by another user' : 'can be written by other users';
  const fix = str(s.data.fix);
  return {
    severity: 'error',
    message: `The Alibaba Cloud config ${path} ${why}, so it was not read. ${fix ? `Fix: ${fix}` : 'Make it yours and writable only by you.'}`.trim(),
    actions: [s.showOutput, s.retry],
    cause: `${path} ${why} (configInsecure)`,
    next: fix || 'make the folder and file yours and writable only by you',
  };
}

function portsBusy(s: Said): Described {
  const ports = Array.isArray(s.data.ports) ? (s.data.ports as unknown[]).map(str).join('–') : '';
  return {
    severity: 'error',
    message: `Every local port for the sign-in callback${ports ? ` (${ports})` : ''} is in use. Close the program using them (another sign-in?) or change "aliyun.callbackPorts", then try again.`,
    actions: [{ title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.callbackPorts' }, s.signIn],
    cause: `every callback port${ports ? ` ${ports}` : ''} is in use (portsBusy)`,
    next: 'close the program using them or change aliyun.callbackPorts, then sign in again',
  };
}

function network(s: Said): Described {
  return {
    severity: 'warning',
    message: 'Alibaba Cloud could not be reached (network or proxy). Your sign-in is kept; try again when you are online.',
    actions: [s.retry, s.showOutput],
    cause: `Alibaba Cloud could not be reached (network${s.serverMessage ? `: ${s.serverMessage}` : ''})`,
    next: 'check the network or proxy, then retry',
  };
}

function upstream(s: Said): Described {
  const requestId = str(s.data.requestId);
  return {
    severity: 'error',
    message: `Alibaba Cloud answered with an error: ${s.serverMessage || str(s.data.error) || 'unknown'}${requestId ? ` (request id ${requestId})` : ''}. Try again; if it persists, sign in again.`,
    actions: [s.retry, s.signIn, s.showOutput],
    cause: `the service answered an error (upstream, ${str(s.data.error) || 'unknown'}${requestId ? `, request id ${requestId}` : ''})`,
    next: 'retry; if it persists, sign in again',
  };
}

function signInRequired(s: Said): Described {
  return {
    severity: 'warning',
    message: `${s.profile ? `Profile "${s.profile}"` : 'This profile'} needs a new browser sign-in: its session has ended.`,
    actions: [s.signIn],
    cause: `the session has ended (signInRequired${s.data.stateReason ? `, ${str(s.data.stateReason)}` : ''})`,
    next: 'sign in again',
  };
}

function profileNotFound(s: Said): Described {
  const existing = Array.isArray(s.data.existing) ? (s.data.existing as unknown[]).map(str) : [];
  return {
    severity: 'error',
    message: `Profile "${s.profile}" does not exist${existing.length ? ` (existing: ${existing.join(', ')})` : ''}. Pick another one or sign in to create it.`,
    actions: [{ title: 'Sign In', kind: 'signIn', arg: s.profile || undefined }],
    cause: `profile "${s.profile}" does not exist (profileNotFound)`,
    next: 'pick another profile or sign in to create it',
  };
}

function configCorrupt(s: Said): Described {
  const path = str(s.data.path);
  const open = openConfigAction(s.data);
  return {
    severity: 'error',
    message: `The config file ${path} is not valid${positionText(s.data)}. Fix it or move it away; nothing is written to it until then.`,
    actions: open ? [open] : [s.showOutput],
    cause: `${path || 'the config file'} is not valid${positionText(s.data)} (configCorrupt)`,
    next: 'fix the file or move it away; it is not written until then',
  };
}

function configUnavailable(s: Said): Described {
  return {
    severity: 'error',
    message: `The config file cannot be read or written: ${s.serverMessage || 'permission denied, disk full or locked'}. Check its folder's permissions and free space.`,
    actions: [s.showOutput, s.retry],
    cause: `the config file cannot be read or written (configUnavailable: ${s.serverMessage || 'no details'})`,
    next: "check the folder's permissions and free space, then retry",
  };
}

function invalidParams(s: Said): Described {
  const field = s.data.field ? ` for "${str(s.data.field)}"` : '';
  return {
    severity: 'error',
    message: s.serverMessage || `Invalid value${field}.`,
    actions: [],
    cause: `invalid value${field} (invalidParams: ${s.serverMessage || 'no details'})`,
    next: 'correct the value',
  };
}

/** methodNotFound, invalidRequest: the two sides do not speak the same contract. */
function unknownRequest(s: Said): Described {
  return {
    severity: 'error',
    message: 'The sign-in helper does not know this request: it is older or newer than the extension. Restart it; if that does not help, reinstall the extension.',
    actions: [s.restart, s.showOutput],
    cause: `the sidecar does not know the request (${s.kind}${s.serverMessage ? `: ${s.serverMessage}` : ''})`,
    next: 'restart the sidecar; if that does not help, reinstall the extension',
  };
}

/** shuttingDown, notInitialized: a moment too early or too late. */
function notReady(s: Said): Described {
  return {
    severity: 'warning',
    message: 'The sign-in helper is starting or stopping; try again in a moment.',
    actions: [s.retry],
    cause: `the sidecar is starting or stopping (${s.kind})`,
    next: 'try again in a moment',
  };
}

function internal(s: Said): Described {
  return {
    severity: 'error',
    message: 'The Alibaba Cloud sign-in helper hit an internal error. Details (without secrets) are in the output.',
    actions: [s.showOutput, s.restart],
    cause: `internal error of the sidecar (${s.serverMessage || 'no details'})`,
    next: 'see the lines above; restart the sidecar',
  };
}

/** A kind this extension does not know (a newer sidecar), or no kind at all. */
function unknownKind(s: Said): Described {
  return {
    severity: 'error',
    message: `Alibaba Cloud: ${s.serverMessage || 'the request failed'}.`,
    actions: [s.showOutput],
    cause: s.serverMessage || 'the request failed',
    next: 'see the lines above',
  };
}

/**
 * Every kind of the contract has its sentence here: the compiler refuses a kind without one (the
 * generated ErrorKind), and test/errorKinds.test.ts checks that none falls back to `unknownKind`.
 */
export const SENTENCES: Record<ErrorKind, Sentence> = {
  internal,
  invalidParams,
  cancelled,
  profileNotFound,
  configCorrupt,
  configUnavailable,
  configInsecure,
  unknownSite,
  signInRequired,
  signInDenied,
  signInTimeout,
  portsBusy,
  clientNotAuthorized,
  network,
  upstream,
  methodNotFound: unknownRequest,
  invalidRequest: unknownRequest,
  shuttingDown: notReady,
  notInitialized: notReady,
};

function describe(err: unknown, ctx: ErrorContext): Described | undefined {
  const s = said(err, ctx);
  if (s.kind === 'sidecarDown') return sidecarDown(err as SidecarDownError, s);
  const sentence = Object.hasOwn(SENTENCES, s.kind) ? SENTENCES[s.kind as ErrorKind] : unknownKind;
  return sentence(s);
}

/**
 * The sentence and buttons for an error, and its one log line. `undefined` = stay silent (the user
 * cancelled the sign-in: `cancelLogLine` says so in the log).
 */
export function describeError(err: unknown, ctx: ErrorContext = {}): ErrorView | undefined {
  const d = describe(err, ctx);
  if (!d) return undefined;
  const profile = str(asRpcError(err).data?.profile) || ctx.profile || '';
  return {
    severity: d.severity,
    message: d.message,
    actions: d.actions,
    log: { level: d.severity === 'warning' ? 'warn' : 'error', text: `${subject(ctx, profile)} failed: ${d.cause}. Next: ${d.next}.` },
  };
}

/** The log line of a cancel by the user (not an error: info level). */
export function cancelLogLine(ctx: ErrorContext): LogLine {
  return { level: 'info', text: `${subject(ctx, ctx.profile ?? '')} cancelled by the user.` };
}

/** How a sign-in that did not succeed ended, as the user must hear it. */
export type SignInFailure = { kind: 'cancelled' } | { kind: 'superseded' } | { kind: 'failed'; error: unknown };

/**
 * The sign-in request failed with `err`. A `cancelled` answer is the user's Cancel only when they
 * pressed it; else the sidecar ended it itself: a newer sign-in took its place (that one speaks, this
 * one ends silently), or the sidecar is shutting down (a restart), which the user must hear.
 */
export function failedEnding(err: unknown, how: { userCancelled: boolean; superseded: boolean }): SignInFailure {
  if (!isCancelled(err)) return { kind: 'failed', error: err };
  if (how.userCancelled) return { kind: 'cancelled' };
  if (how.superseded) return { kind: 'superseded' };
  return { kind: 'failed', error: new SidecarDownError('it ended the sign-in as it shut down.') };
}
