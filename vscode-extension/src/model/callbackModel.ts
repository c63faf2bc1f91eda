/**
 * Can the browser reach the sidecar's loopback callback? In a remote window (Remote-SSH, WSL, dev
 * containers, Codespaces, code-server) the sidecar runs on the remote host, so its
 * `http://127.0.0.1:<port>/cli/callback` is there too. VS Code forwards a port when asked
 * (`env.asExternalUri`); the redirect URI registered for the CLI's public client is fixed to
 * `http://127.0.0.1:<port>/cli/callback`, so only a forward to the SAME local port keeps it working.
 * Anything else (another port, an https tunnel, a proxy path) means paste-back.
 */

export type SignInMode = 'auto' | 'pasteBack';

export interface Reachability {
  mode: 'direct' | 'pasteBack';
  /** Why, for the log. */
  reason: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);

function parse(url: string | undefined): URL | undefined {
  if (!url) return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** `http://127.0.0.1:12345/` for `http://127.0.0.1:12345/cli/callback`: what is given to asExternalUri. */
export function callbackOrigin(redirectUri: string): string | undefined {
  const u = parse(redirectUri);
  return u ? `${u.protocol}//${u.host}/` : undefined;
}

/** The callback's port (`12345`), for the paste-back instructions. */
export function callbackPort(redirectUri: string): string {
  const u = parse(redirectUri);
  return u?.port || (u?.protocol === 'https:' ? '443' : '80');
}

/** The `aliyun.signIn.mode` setting, with anything unknown read as the default. */
export function signInMode(value: unknown): SignInMode {
  return value === 'pasteBack' ? 'pasteBack' : 'auto';
}

/**
 * `externalUri`: what `env.asExternalUri(callbackOrigin)` answered (`undefined` = not asked, or it
 * failed). `remoteName`: `env.remoteName` (`undefined` = a local window: the browser and the sidecar
 * share the machine, nothing to forward).
 */
export function callbackReachability(
  redirectUri: string,
  externalUri: string | undefined,
  remoteName: string | undefined,
  mode: SignInMode = 'auto',
): Reachability {
  if (mode === 'pasteBack') return { mode: 'pasteBack', reason: 'aliyun.signIn.mode is "pasteBack"' };
  const redirect = parse(redirectUri);
  if (!redirect) return { mode: 'pasteBack', reason: `unexpected redirect URI ${redirectUri}` };
  if (remoteName === undefined) return { mode: 'direct', reason: 'local window' };
  const external = parse(externalUri);
  if (!external) return { mode: 'pasteBack', reason: `remote window (${remoteName}): the callback port could not be forwarded` };
  const samePort = (external.port || '80') === (redirect.port || '80');
  if (external.protocol === 'http:' && LOOPBACK_HOSTS.has(external.hostname) && samePort && (external.pathname === '/' || external.pathname === '')) {
    return { mode: 'direct', reason: `remote window (${remoteName}): callback forwarded to the same local port ${redirect.port}` };
  }
  return {
    mode: 'pasteBack',
    reason: `remote window (${remoteName}): callback reachable only as ${external.protocol}//${external.host}${external.pathname}, not as the registered ${redirect.host}`,
  };
}
