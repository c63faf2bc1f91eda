/**
 * Redaction of everything written to the "Alibaba Cloud" output channel: the client's trace (which,
 * at `aliyun.trace.server: verbose`, prints every params and result object) and the sidecar's stderr.
 *
 * Secrets in the contract: `aliyun/getCredentials` answers (STS credentials), the
 * `aliyun/credentialsEndpoint` answer (its URI and the terminals' variables hold the endpoint's
 * secret path) and a paste-back URL's authorization code. All are cut here, by method, by
 * field/parameter name in any case convention and by shape (the endpoint's secret path, JWTs, key
 * ids, long token-like runs with no label), so that a future field or a sidecar
 * bug cannot put a secret in a log the user might paste into an issue.
 */

import { Methods } from './contract';

export const REDACTED = '<redacted>';

/** Requests whose params and results are never logged (the trace keeps the header line only). */
const UNLOGGED_METHODS = [Methods.getCredentials, Methods.credentialsEndpoint];

/**
 * A field name that holds a secret, in any spelling the contract, the CLI's file, the SDKs or the
 * services use: camelCase (`accessKeySecret`), PascalCase (`AccessKeySecret`, `SecurityToken`),
 * snake_case (`access_key_secret`, `sts_token`, `oauth_refresh_token`).
 */
const SECRET_NAME =
  String.raw`[A-Za-z_]*?(?:access_?key_?(?:id|secret)|security_?token|sts_?token|access_?token|refresh_?token|id_?token|code_?verifier|client_?secret|private_?key)`;
/** `"name": "value"` (JSON, the trace's params and results). */
const SECRET_FIELDS = new RegExp(String.raw`("${SECRET_NAME}"\s*:\s*)"(?:[^"\\]|\\.)*"`, 'gi');
/** `name=value` / `name: value` outside JSON (log lines, error texts). */
const SECRET_ASSIGNED = new RegExp(String.raw`(\b${SECRET_NAME}\s*[=:]\s*)[^\s,;&"'}\]]+`, 'gi');
/** A JWT (`eyJ...`: three base64url parts), an Alibaba Cloud key id (`STS.`/`LTAI`), whatever its label. */
const TOKEN_SHAPES = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|\b(?:STS\.|LTAI)[A-Za-z0-9]{12,}/g;
/** A long dense base64/base64url run (an STS token `CAIS...`, an opaque access or refresh token). */
const LONG_RUN = /[A-Za-z0-9+/_-]{32,}={0,2}/g;

/**
 * Whether a long run is a token and not a path or a name: tokens mix digits with both cases, and
 * their parts between `/` are long (a path's are short words).
 */
function tokenLike(run: string): boolean {
  if (!/[0-9]/.test(run) || !/[a-z]/.test(run) || !/[A-Z]/.test(run)) return false;
  return Math.max(...run.split('/').map((part) => part.length)) >= 24;
}

const SECRET_QUERY = /([?&#](?:code|code_verifier|access_token|refresh_token)=)[^&#\s"']+/g;
/** The credentials endpoint's secret path segment (`http://127.0.0.1:<port>/<secret>/credentials`). */
const SECRET_PATH = /(\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+\/)[A-Za-z0-9_-]{16,}(?=\/(?:credentials|profiles)\b)/g;


export function redact(text: string): string {
  let out = text;
  // A trace entry is "header\nbody": for these methods keep the header only (method, id, timing).
  const unlogged = UNLOGGED_METHODS.find((m) => out.includes(m));
  if (unlogged) {
    const nl = out.indexOf('\n');
    if (nl >= 0) out = `${out.slice(0, nl)}\n(params and result of ${unlogged} are not logged)`;
  }
  return out
    .replace(SECRET_FIELDS, `$1"${REDACTED}"`)
    .replace(SECRET_ASSIGNED, `$1${REDACTED}`)
    .replace(SECRET_QUERY, `$1${REDACTED}`)
    .replace(SECRET_PATH, `$1${REDACTED}`)
    .replace(TOKEN_SHAPES, REDACTED)
    .replace(LONG_RUN, (run) => (tokenLike(run) ? REDACTED : run));
}

/** The level to log one line of the sidecar's stderr at (it is the sidecar's log, not only errors). */
export function stderrLevel(line: string): 'error' | 'warn' | 'info' | 'debug' {
  if (/\b(ERROR|CRITICAL|Traceback)\b/.test(line)) return 'error';
  if (/\bWARNING\b/.test(line)) return 'warn';
  if (/\bDEBUG\b/.test(line)) return 'debug';
  return 'info';
}
