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

function describe(err: unknown, ctx: ErrorContext): Described | undefined {
  const e = asRpcError(err);
  const data = e.data ?? {};
  const serverMessage = str(e.message).trim();
  const profile = str(data.profile) || ctx.profile || '';
  const showOutput: ErrorActionView = { title: 'Show Output', kind: 'showOutput' };
  const signIn: ErrorActionView = { title: 'Sign In', kind: 'signIn', arg: profile || undefined };
  const docs: ErrorActionView = { title: 'Open Documentation', kind: 'openDocs', arg: OAUTH_DOCS_URL };
  const ofProfile = profile ? ` of profile "${profile}"` : '';

  switch (errorKind(err)) {
    case 'sidecarDown': {
      const reason = str((err as SidecarDownError).reason);
      if (ctx.method === Methods.signIn) {
        return {
          severity: 'warning',
          message: `The sign-in${ofProfile} was interrupted: the Alibaba Cloud sign-in helper stopped or restarted. Sign in again.`,
          actions: [signIn, showOutput],
          // The reason is a sentence of its own (SidecarDownError's): joined, not nested in parentheses.
          cause: `the sidecar stopped or restarted while waiting${reason ? `: ${reason.replace(/\.\s*$/, '')}` : ''}`,
          next: 'sign in again',
        };
      }
      const fix = (err as SidecarDownError).fix;
      return {
        severity: 'error',
        // A reason that comes with its fix (no usable Python) is a whole sentence naming the
        // extension and the cause: a "not running" prefix would only say it twice.
        message: fix ? reason : `Alibaba Cloud: the sign-in helper is not running. ${reason}`.trim(),
        actions: fix
          ? [fix]
          : [
              { title: 'Restart', kind: 'restartSidecar' },
              { title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.sidecar.pythonPath' },
              showOutput,
            ],
        cause: `the sidecar is not running (${reason || 'no reason given'})`,
        next: 'fix the cause, then run "Alibaba Cloud: Restart Sidecar"',
      };
    }
    case 'cancelled':
      if (ctx.method === Methods.completeSignIn) {
        return {
          severity: 'warning',
          message: 'No sign-in is waiting for a redirect URL. Start "Alibaba Cloud: Sign In" first, then paste the address.',
          actions: [signIn],
          cause: 'no sign-in was waiting for the pasted address',
          next: 'start a sign-in first',
        };
      }
      return undefined;
    case 'signInDenied': {
      const error = str(data.error);
      const description = str(data.description);
      switch (denyReason(data)) {
        case 'userDenied':
          return {
            severity: 'warning',
            message: `Sign-in${ofProfile} cancelled: Deny was chosen on the Alibaba Cloud page. Nothing was changed. Sign in again and choose Authorize to continue.`,
            actions: [signIn],
            cause: 'Deny was chosen on the sign-in page (signInDenied, userDenied)',
            next: 'sign in again and choose Authorize',
          };
        case 'notAuthorized':
          return {
            severity: 'error',
            message:
              `Alibaba Cloud answered "The call is not authorized": your account cannot use the Alibaba Cloud CLI sign-in yet. ` +
              `To allow it, ${ADMIN_STEPS}. Then sign in again.`,
            actions: [docs, signIn],
            cause: `the service answered "not authorized" (signInDenied, notAuthorized${error ? `, ${error}` : ''})`,
            next: 'a RAM administrator installs the official-cli application and assigns the user to it; then sign in again',
          };
        default:
          return {
            severity: 'error',
            message: `Sign-in was refused by Alibaba Cloud (${error || 'unknown error'}${description ? `: ${description}` : ''}). Try again, or ask your RAM administrator.`,
            actions: [signIn, docs],
            cause: `the service refused the sign-in (signInDenied, ${error || 'unknown error'})`,
            next: 'sign in again; if it persists, ask the RAM administrator',
          };
      }
    }
    case 'signInTimeout': {
      const seconds = Number(data.seconds);
      const within = Number.isFinite(seconds) && seconds > 0 ? ` within ${seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${seconds} seconds`}` : ' in time';
      return {
        severity: 'warning',
        message:
          `The browser did not come back${within}. If the page said "The call is not authorized", it never comes back: ${ADMIN_STEPS}. ` +
          'If you did press Authorize and the browser cannot reach VS Code (remote, WSL, a proxy), sign in again and use "Paste redirect URL…" with the address the browser shows.',
        actions: [signIn, docs],
        cause: `no answer from the browser${within} (signInTimeout${data.mayBeNotAuthorized ? '; the account may not be authorized, whose page never redirects' : ''})`,
        next: 'sign in again (paste the redirect URL if the browser cannot reach VS Code); if the page said "not authorized", the RAM administrator must install and assign official-cli',
      };
    }
    case 'clientNotAuthorized': {
      const error = str(data.error);
      return {
        severity: 'error',
        message:
          `Alibaba Cloud refused the Alibaba Cloud CLI application${ofProfile}${error ? ` (${error})` : ''}: it is not installed in the account, or you are not assigned to it. ` +
          `To fix it, ${ADMIN_STEPS}. Then sign in again.`,
        actions: [docs, signIn],
        cause: `the service refused the official-cli application (clientNotAuthorized${error ? `, ${error}` : ''}${data.requestId ? `, request id ${str(data.requestId)}` : ''})`,
        next: 'a RAM administrator installs official-cli and assigns the user; then sign in again',
      };
    }
    case 'unknownSite': {
      const site = str(data.site);
      const valid = Array.isArray(data.valid) ? (data.valid as unknown[]).map(str).join(', ') : 'CN, INTL';
      return {
        severity: 'error',
        message: `Profile "${profile}" names an unknown site "${site}" (oauth_site_type; valid: ${valid}). Nothing was sent. Sign in again to choose a site, or fix the config file.`,
        actions: [signIn],
        cause: `unknown oauth_site_type "${site}" (unknownSite; valid: ${valid})`,
        next: 'sign in again and choose a site, or fix oauth_site_type in the config file',
      };
    }
    case 'configInsecure': {
      const path = str(data.path);
      const why = data.reason === 'owner' ? 'is owned by another user' : 'can be written by other users';
      const fix = str(data.fix);
      return {
        severity: 'error',
        message: `The Alibaba Cloud config ${path} ${why}, so it was not read. ${fix ? `Fix: ${fix}` : 'Make it yours and writable only by you.'}`.trim(),
        actions: [showOutput, { title: 'Retry', kind: 'retry' }],
        cause: `${path} ${why} (configInsecure)`,
        next: fix || 'make the folder and file yours and writable only by you',
      };
    }
    case 'portsBusy': {
      const ports = Array.isArray(data.ports) ? (data.ports as unknown[]).map(str).join('–') : '';
      return {
        severity: 'error',
        message: `Every local port for the sign-in callback${ports ? ` (${ports})` : ''} is in use. Close the program using them (another sign-in?) or change "aliyun.callbackPorts", then try again.`,
        actions: [{ title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.callbackPorts' }, signIn],
        cause: `every callback port${ports ? ` ${ports}` : ''} is in use (portsBusy)`,
        next: 'close the program using them or change aliyun.callbackPorts, then sign in again',
      };
    }
    case 'network':
      return {
        severity: 'warning',
        message: 'Alibaba Cloud could not be reached (network or proxy). Your sign-in is kept; try again when you are online.',
        actions: [{ title: 'Retry', kind: 'retry' }, showOutput],
        cause: `Alibaba Cloud could not be reached (network${serverMessage ? `: ${serverMessage}` : ''})`,
        next: 'check the network or proxy, then retry',
      };
    case 'upstream': {
      const requestId = str(data.requestId);
      return {
        severity: 'error',
        message: `Alibaba Cloud answered with an error: ${serverMessage || str(data.error) || 'unknown'}${requestId ? ` (request id ${requestId})` : ''}. Try again; if it persists, sign in again.`,
        actions: [{ title: 'Retry', kind: 'retry' }, signIn, showOutput],
        cause: `the service answered an error (upstream, ${str(data.error) || 'unknown'}${requestId ? `, request id ${requestId}` : ''})`,
        next: 'retry; if it persists, sign in again',
      };
    }
    case 'signInRequired':
      return {
        severity: 'warning',
        message: `${profile ? `Profile "${profile}"` : 'This profile'} needs a new browser sign-in: its session has ended.`,
        actions: [signIn],
        cause: `the session has ended (signInRequired${data.stateReason ? `, ${str(data.stateReason)}` : ''})`,
        next: 'sign in again',
      };
    case 'profileNotFound': {
      const existing = Array.isArray(data.existing) ? (data.existing as unknown[]).map(str) : [];
      return {
        severity: 'error',
        message: `Profile "${profile}" does not exist${existing.length ? ` (existing: ${existing.join(', ')})` : ''}. Pick another one or sign in to create it.`,
        actions: [{ title: 'Sign In', kind: 'signIn', arg: profile || undefined }],
        cause: `profile "${profile}" does not exist (profileNotFound)`,
        next: 'pick another profile or sign in to create it',
      };
    }
    case 'configCorrupt': {
      const path = str(data.path);
      const open = openConfigAction(data);
      return {
        severity: 'error',
        message: `The config file ${path} is not valid${positionText(data)}. Fix it or move it away; nothing is written to it until then.`,
        actions: open ? [open] : [showOutput],
        cause: `${path || 'the config file'} is not valid${positionText(data)} (configCorrupt)`,
        next: 'fix the file or move it away; it is not written until then',
      };
    }
    case 'configUnavailable':
      return {
        severity: 'error',
        message: `The config file cannot be read or written: ${serverMessage || 'permission denied, disk full or locked'}. Check its folder's permissions and free space.`,
        actions: [showOutput, { title: 'Retry', kind: 'retry' }],
        cause: `the config file cannot be read or written (configUnavailable: ${serverMessage || 'no details'})`,
        next: "check the folder's permissions and free space, then retry",
      };
    case 'invalidParams':
      return {
        severity: 'error',
        message: serverMessage || `Invalid value${data.field ? ` for "${str(data.field)}"` : ''}.`,
        actions: [],
        cause: `invalid value${data.field ? ` for "${str(data.field)}"` : ''} (invalidParams: ${serverMessage || 'no details'})`,
        next: 'correct the value',
      };
    case 'methodNotFound':
    case 'invalidRequest':
      return {
        severity: 'error',
        message: 'The sign-in helper does not know this request: it is older or newer than the extension. Restart it; if that does not help, reinstall the extension.',
        actions: [{ title: 'Restart', kind: 'restartSidecar' }, showOutput],
        cause: `the sidecar does not know the request (${errorKind(err)}${serverMessage ? `: ${serverMessage}` : ''})`,
        next: 'restart the sidecar; if that does not help, reinstall the extension',
      };
    case 'shuttingDown':
    case 'notInitialized':
      return {
        severity: 'warning',
        message: 'The sign-in helper is starting or stopping; try again in a moment.',
        actions: [{ title: 'Retry', kind: 'retry' }],
        cause: `the sidecar is starting or stopping (${errorKind(err)})`,
        next: 'try again in a moment',
      };
    case 'internal':
      return {
        severity: 'error',
        message: 'The Alibaba Cloud sign-in helper hit an internal error. Details (without secrets) are in the output.',
        actions: [showOutput, { title: 'Restart', kind: 'restartSidecar' }],
        cause: `internal error of the sidecar (${serverMessage || 'no details'})`,
        next: 'see the lines above; restart the sidecar',
      };
    default:
      return {
        severity: 'error',
        message: `Alibaba Cloud: ${serverMessage || 'the request failed'}.`,
        actions: [showOutput],
        cause: serverMessage || 'the request failed',
        next: 'see the lines above',
      };
  }
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
