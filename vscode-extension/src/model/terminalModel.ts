/** The variables new terminals get (terminalEnv.ts applies them to the EnvironmentVariableCollection). */

import type { CredentialsEndpoint } from './contract';

/** Only these names may come from the sidecar's `environment`: a terminal's PATH is not its business. */
const ALLOWED = /^ALIBABA_CLOUD_[A-Z0-9_]+$/;

export function terminalVariables(
  currentProfile: string | undefined,
  endpoint: CredentialsEndpoint | undefined,
  inject: boolean,
): Record<string, string> {
  const vars: Record<string, string> = {};
  // The profile the status bar shows is the one the CLI and SDKs in the terminal use.
  if (currentProfile) vars.ALIBABA_CLOUD_PROFILE = currentProfile;
  if (inject && endpoint) {
    for (const [name, value] of Object.entries(endpoint.environment ?? {})) {
      if (ALLOWED.test(name) && typeof value === 'string') vars[name] = value;
    }
  }
  return vars;
}
