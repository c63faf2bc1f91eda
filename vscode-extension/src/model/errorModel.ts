/**
 * From an error answer of the sidecar (its `data.kind`) to one human sentence that says what happened
 * and what to do next, plus the buttons that do it. errors.ts shows the result; this file has no
 * vscode import so that every sentence is unit-tested.
 */

import { REQUEST_CANCELLED, type ErrorKind } from './contract';

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
}

export interface ErrorView {
  severity: 'error' | 'warning';
  message: string;
  actions: ErrorActionView[];
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

/** `access_denied`, or the service's "The call is not authorized" / "not allowed" wording. */
export function isNotAuthorized(error: string, description: string): boolean {
  return error === 'access_denied' || /not authori[sz]ed|not allowed/i.test(`${error} ${description}`);
}

/**
 * The sentence and buttons for an error. `undefined` = stay silent (the user cancelled the sign-in).
 */
export function describeError(err: unknown, ctx: ErrorContext = {}): ErrorView | undefined {
  const e = asRpcError(err);
  const data = e.data ?? {};
  const serverMessage = str(e.message).trim();
  const profile = str(data.profile) || ctx.profile || '';
  const showOutput: ErrorActionView = { title: 'Show Output', kind: 'showOutput' };
  const signIn: ErrorActionView = { title: 'Sign In', kind: 'signIn', arg: profile || undefined };

  switch (errorKind(err)) {
    case 'sidecarDown':
      return {
        severity: 'error',
        message: `Alibaba Cloud: the sign-in helper is not running. ${str((err as SidecarDownError).reason)}`.trim(),
        actions: (err as SidecarDownError).fix
          ? [(err as SidecarDownError).fix!]
          : [{ title: 'Restart', kind: 'restartSidecar' }, { title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.sidecar.pythonPath' }, showOutput],
      };
    case 'cancelled':
      if (ctx.method === 'aliyun/completeSignIn') {
        return {
          severity: 'warning',
          message: 'No sign-in is waiting for a redirect URL. Start "Alibaba Cloud: Sign In" first, then paste the address.',
          actions: [signIn],
        };
      }
      return undefined;
    case 'signInDenied': {
      const error = str(data.error);
      const description = str(data.description);
      if (isNotAuthorized(error, description)) {
        return {
          severity: 'error',
          message:
            'Sign-in was refused: "The call is not authorized". If you did not press Deny yourself, your RAM administrator ' +
            'must install the official-cli OAuth application (RAM console → Integrations → OAuth → Third-party Application → ' +
            'Provision Official Application → Official CLI) and assign you to it.',
          actions: [{ title: 'Open Documentation', kind: 'openDocs', arg: OAUTH_DOCS_URL }, signIn],
        };
      }
      return {
        severity: 'error',
        message: `Sign-in was refused by Alibaba Cloud (${error || 'unknown error'}${description ? `: ${description}` : ''}). Try again, or ask your RAM administrator.`,
        actions: [signIn, { title: 'Open Documentation', kind: 'openDocs', arg: OAUTH_DOCS_URL }],
      };
    }
    case 'signInTimeout':
      return {
        severity: 'warning',
        message:
          'The browser did not come back in time. If the page said "authorized" but VS Code never heard of it (remote, WSL, ' +
          'a proxy), sign in again and use "Paste redirect URL…" with the address the browser shows.',
        actions: [signIn],
      };
    case 'portsBusy': {
      const ports = Array.isArray(data.ports) ? (data.ports as unknown[]).map(str).join('–') : '';
      return {
        severity: 'error',
        message: `Every local port for the sign-in callback${ports ? ` (${ports})` : ''} is in use. Close the program using them (another sign-in?) or change "aliyun.callbackPorts", then try again.`,
        actions: [{ title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.callbackPorts' }, signIn],
      };
    }
    case 'network':
      return {
        severity: 'warning',
        message: 'Alibaba Cloud could not be reached (network or proxy). Your sign-in is kept; try again when you are online.',
        actions: [{ title: 'Retry', kind: 'retry' }, showOutput],
      };
    case 'upstream': {
      const requestId = str(data.requestId);
      return {
        severity: 'error',
        message: `Alibaba Cloud answered with an error: ${serverMessage || str(data.error) || 'unknown'}${requestId ? ` (request id ${requestId})` : ''}. Try again; if it persists, sign in again.`,
        actions: [{ title: 'Retry', kind: 'retry' }, signIn, showOutput],
      };
    }
    case 'signInRequired':
      return {
        severity: 'warning',
        message: `${profile ? `Profile "${profile}"` : 'This profile'} needs a new browser sign-in: its session has ended.`,
        actions: [signIn],
      };
    case 'profileNotFound': {
      const existing = Array.isArray(data.existing) ? (data.existing as unknown[]).map(str) : [];
      return {
        severity: 'error',
        message: `Profile "${profile}" does not exist${existing.length ? ` (existing: ${existing.join(', ')})` : ''}. Pick another one or sign in to create it.`,
        actions: [{ title: 'Sign In', kind: 'signIn', arg: profile || undefined }],
      };
    }
    case 'configCorrupt': {
      const path = str(data.path);
      return {
        severity: 'error',
        message: `The config file ${path} is not valid${data.where ? ` (${str(data.where)})` : ''}. Fix it or move it away; nothing is written to it until then.`,
        actions: path ? [{ title: 'Open File', kind: 'openConfig', arg: path }] : [showOutput],
      };
    }
    case 'configUnavailable':
      return {
        severity: 'error',
        message: `The config file cannot be read or written: ${serverMessage || 'permission denied, disk full or locked'}. Check its folder's permissions and free space.`,
        actions: [showOutput, { title: 'Retry', kind: 'retry' }],
      };
    case 'invalidParams':
      return {
        severity: 'error',
        message: serverMessage || `Invalid value${data.field ? ` for "${str(data.field)}"` : ''}.`,
        actions: [],
      };
    case 'configInsecure': {
      const path = str(data.path);
      const why = data.reason === 'owner' ? 'is owned by another user' : 'can be written by other users';
      return {
        severity: 'error',
        message: `The config ${path ? `path ${path}` : 'folder'} ${why}, so nothing is read from it (another user could plant a profile). ${str(data.fix) || 'Fix its owner and permissions.'}`,
        actions: [showOutput, { title: 'Retry', kind: 'retry' }],
      };
    }
    case 'clientNotAuthorized':
      return {
        severity: 'error',
        message:
          `Alibaba Cloud refused the official CLI application${profile ? ` for profile "${profile}"` : ''} (${str(data.error) || 'not authorized'}). ` +
          'Your RAM administrator must install the official-cli OAuth application and assign you to it; then sign in again.',
        actions: [{ title: 'Open Documentation', kind: 'openDocs', arg: OAUTH_DOCS_URL }, signIn],
      };
    case 'unknownSite': {
      const valid = Array.isArray(data.valid) ? (data.valid as unknown[]).map(str).join(', ') : '';
      return {
        severity: 'error',
        message: `${profile ? `Profile "${profile}"` : 'This profile'} names the site "${str(data.site)}", which is not a known site${valid ? ` (known: ${valid})` : ''}. Sign in again to choose one.`,
        actions: [signIn],
      };
    }
    case 'methodNotFound':
    case 'invalidRequest':
      return {
        severity: 'error',
        message: 'The sign-in helper does not know this request: it is older or newer than the extension. Restart it; if that does not help, reinstall the extension.',
        actions: [{ title: 'Restart', kind: 'restartSidecar' }, showOutput],
      };
    case 'shuttingDown':
    case 'notInitialized':
      return {
        severity: 'warning',
        message: 'The sign-in helper is starting or stopping; try again in a moment.',
        actions: [{ title: 'Retry', kind: 'retry' }],
      };
    case 'internal':
      return {
        severity: 'error',
        message: 'The Alibaba Cloud sign-in helper hit an internal error. Details (without secrets) are in the output.',
        actions: [showOutput, { title: 'Restart', kind: 'restartSidecar' }],
      };
    default:
      return {
        severity: 'error',
        message: `Alibaba Cloud: ${serverMessage || 'the request failed'}.`,
        actions: [showOutput],
      };
  }
}
