/**
 * The API other extensions get from `vscode.extensions.getExtension('aliyun-sidecar.aliyun-sidecar')
 * .activate()`: fresh STS credentials of a profile, the active profile, and a change event.
 */

import * as vscode from 'vscode';
import { Methods, type Credentials, type CredentialsChanged } from './model/contract';
import { describeError, errorKind } from './model/errorModel';
import type { SidecarForTerminals } from './terminalEnv';

export interface CredentialsChangeEvent {
  profile: string;
  /**
   * The sidecar's `aliyun/credentialsChanged` kinds (from the contract), and `activeProfileChanged`:
   * the user switched profile (or signed in with another one).
   */
  reason: CredentialsChanged['kind'] | 'activeProfileChanged';
}

export interface AlibabaCloudApi {
  readonly apiVersion: 1;
  /** The profile the status bar shows (the config file's `current`), if any. */
  getActiveProfile(): string | undefined;
  /**
   * STS credentials of `profile` (default: the active one), renewed first when needed. Rejects with
   * an Error whose `kind` is the contract's `data.kind` (e.g. `signInRequired`) and whose message is
   * a sentence for the user.
   */
  getCredentials(profile?: string): Promise<Credentials>;
  readonly onDidChangeCredentials: vscode.Event<CredentialsChangeEvent>;
}

export interface SidecarForApi extends SidecarForTerminals {
  readonly onDidChangeCredentials: vscode.Event<CredentialsChanged>;
}

export class ApiError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = 'AlibabaCloudError';
  }
}

export function createApi(sidecar: SidecarForApi): AlibabaCloudApi & vscode.Disposable {
  const emitter = new vscode.EventEmitter<CredentialsChangeEvent>();
  let active = sidecar.profiles?.current || undefined;
  const subscriptions = [
    sidecar.onDidChangeCredentials((e) => emitter.fire({ profile: e.profile, reason: e.kind })),
    sidecar.onDidChange(() => {
      const now = sidecar.profiles?.current || undefined;
      if (now !== active) {
        active = now;
        if (now) emitter.fire({ profile: now, reason: 'activeProfileChanged' });
      }
    }),
  ];
  return {
    apiVersion: 1,
    getActiveProfile: () => sidecar.profiles?.current || undefined,
    async getCredentials(profile?: string): Promise<Credentials> {
      // Explicit name: the sidecar would otherwise prefer ALIBABA_CLOUD_PROFILE from its environment
      // over `current`, and the credentials must be those of the profile the status bar shows.
      const name = profile ?? (sidecar.profiles?.current || undefined);
      try {
        // Never logged here: the result is the one secret of the contract.
        return await sidecar.request<Credentials>(Methods.getCredentials, name ? { profile: name } : {});
      } catch (e) {
        const view = describeError(e, { method: Methods.getCredentials, profile: name });
        throw new ApiError(view?.message ?? 'Cancelled.', errorKind(e) ?? 'internal');
      }
    },
    onDidChangeCredentials: emitter.event,
    dispose: () => {
      for (const s of subscriptions) s.dispose();
      emitter.dispose();
    },
  };
}
