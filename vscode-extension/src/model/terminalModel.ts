/**
 * The variables new terminals get (terminalEnv.ts applies them to the EnvironmentVariableCollection),
 * and to debug sessions (debugEnvironment, below).
 *
 * No ALIBABA_CLOUD_PROFILE: a switch writes the file's `current`, which the aliyun CLI and the SDKs
 * read when that variable is unset, and the credentials endpoint serves the current profile on every
 * request, so every terminal (one opened before the switch included) uses the new profile at its next
 * command. A pinned variable would keep an open terminal on the old profile until it is reopened. A
 * user's own `export ALIBABA_CLOUD_PROFILE=…` still wins in that terminal for the aliyun CLI (SDKs
 * there use the endpoint while it is injected).
 */

import type { CredentialsEndpoint } from './contract';

/** Only these names may come from the sidecar's `environment`: a terminal's PATH is not its business. */
const ALLOWED = /^ALIBABA_CLOUD_[A-Z0-9_]+$/;

/** The credentials endpoint's variables when injection is on and the sidecar serves one; else none. */
export function terminalVariables(endpoint: CredentialsEndpoint | undefined, inject: boolean): Record<string, string> {
  const vars: Record<string, string> = {};
  if (inject && endpoint) {
    for (const [name, value] of Object.entries(endpoint.environment ?? {})) {
      // Never the profile, whatever the sidecar sends: terminals follow the file's `current`.
      if (ALLOWED.test(name) && name !== 'ALIBABA_CLOUD_PROFILE' && typeof value === 'string') vars[name] = value;
    }
  }
  return vars;
}

/**
 * A debug configuration with the credentials variables added to its `env`: a key the configuration
 * sets itself (even to null, which some debuggers read as "unset") wins; without variables (no
 * endpoint, injection off) or with an `env` that is not an object (a debugger of its own format),
 * the configuration is returned unchanged.
 */
export function withCredentialVariables<T extends Record<string, unknown>>(config: T, vars: Readonly<Record<string, string>>): T {
  if (!Object.keys(vars).length) return config;
  const env = config.env;
  if (env === undefined || env === null) return { ...config, env: { ...vars } };
  if (typeof env !== 'object' || Array.isArray(env)) return config;
  return { ...config, env: { ...vars, ...(env as Record<string, unknown>) } };
}
