/**
 * Redaction of everything written to the "Alibaba Cloud" output channel: the client's trace (which,
 * at `aliyun.trace.server: verbose`, prints every params and result object) and the sidecar's stderr.
 *
 * Secrets in the contract: `aliyun/getCredentials` answers (STS credentials), the
 * `aliyun/credentialsEndpoint` answer (its URI and the terminals' variables hold the endpoint's
 * secret path) and a paste-back URL's authorization code. All are cut here, by method, by
 * field/parameter name and by shape (the endpoint's secret path), so that a future field or a sidecar
 * bug cannot put a secret in a log the user might paste into an issue.
 */

import { Methods } from './contract';

/** Requests whose params and results are never logged (the trace keeps the header line only). */
const UNLOGGED_METHODS = [Methods.getCredentials, Methods.credentialsEndpoint];

const SECRET_FIELDS = /("(?:accessKeyId|accessKeySecret|securityToken|access_key_id|access_key_secret|sts_token|oauth_access_token|oauth_refresh_token|accessToken|refreshToken|code_verifier|codeVerifier)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;
const SECRET_QUERY = /([?&#](?:code|code_verifier|access_token|refresh_token)=)[^&#\s"']+/g;
/** The credentials endpoint's secret path segment (`http://127.0.0.1:<port>/<secret>/credentials`). */
const SECRET_PATH = /(\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+\/)[A-Za-z0-9_-]{16,}(?=\/(?:credentials|profiles)\b)/g;

export const REDACTED = '<redacted>';

export function redact(text: string): string {
  let out = text;
  // A trace entry is "header\nbody": for these methods keep the header only (method, id, timing).
  const unlogged = UNLOGGED_METHODS.find((m) => out.includes(m));
  if (unlogged) {
    const nl = out.indexOf('\n');
    if (nl >= 0) out = `${out.slice(0, nl)}\n(params and result of ${unlogged} are not logged)`;
  }
  return out.replace(SECRET_FIELDS, `$1"${REDACTED}"`).replace(SECRET_QUERY, `$1${REDACTED}`).replace(SECRET_PATH, `$1${REDACTED}`);
}

/** The level to log one line of the sidecar's stderr at (it is the sidecar's log, not only errors). */
export function stderrLevel(line: string): 'error' | 'warn' | 'info' | 'debug' {
  if (/\b(ERROR|CRITICAL|Traceback)\b/.test(line)) return 'error';
  if (/\bWARNING\b/.test(line)) return 'warn';
  if (/\bDEBUG\b/.test(line)) return 'debug';
  return 'info';
}
