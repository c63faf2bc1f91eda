/**
 * Redaction of everything written to the "Alibaba Cloud" output channel: the client's trace (which,
 * at `aliyun.trace.server: verbose`, prints every params and result object) and the sidecar's stderr.
 *
 * The contract says only `aliyun/getCredentials` answers carry secrets, and a paste-back URL carries an
 * authorization code; both are cut here, by method and by field/parameter name, so that a future field
 * or a sidecar bug cannot put a secret in a log the user might paste into an issue.
 */

const SECRET_FIELDS = /("(?:accessKeyId|accessKeySecret|securityToken|access_key_id|access_key_secret|sts_token|oauth_access_token|oauth_refresh_token|accessToken|refreshToken|code_verifier|codeVerifier)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;
const SECRET_QUERY = /([?&#](?:code|code_verifier|access_token|refresh_token)=)[^&#\s"']+/g;

export const REDACTED = '<redacted>';

export function redact(text: string): string {
  let out = text;
  // A trace entry is "header\nbody": for getCredentials keep the header only (method, id, timing).
  if (out.includes('aliyun/getCredentials')) {
    const nl = out.indexOf('\n');
    if (nl >= 0) out = `${out.slice(0, nl)}\n(params and result of aliyun/getCredentials are not logged)`;
  }
  return out.replace(SECRET_FIELDS, `$1"${REDACTED}"`).replace(SECRET_QUERY, `$1${REDACTED}`);
}

/** The level to log one line of the sidecar's stderr at (it is the sidecar's log, not only errors). */
export function stderrLevel(line: string): 'error' | 'warn' | 'info' | 'debug' {
  if (/\b(ERROR|CRITICAL|Traceback)\b/.test(line)) return 'error';
  if (/\bWARNING\b/.test(line)) return 'warn';
  if (/\bDEBUG\b/.test(line)) return 'debug';
  return 'info';
}
