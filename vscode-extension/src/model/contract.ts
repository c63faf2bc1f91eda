/**
 * The JSON-RPC contract with the sidecar, as TypeScript types (docs/contract.md is the source of
 * truth; this file only mirrors it). No vscode import: tests and other modules use it as is.
 */

export type Site = 'CN' | 'INTL';
export type Language = 'en' | 'zh';
export type ProfileState = 'valid' | 'refreshable' | 'signInRequired' | 'notOAuth';

export interface ProfileEntry {
  name: string;
  mode: string;
  site: Site | null;
  region: string;
  language: string;
  isCurrent: boolean;
  state: ProfileState;
  stsExpiresAt: number | null;
  accessTokenExpiresAt: number | null;
  refreshTokenExpiresAt: number | null;
}

export interface ProfileList {
  current: string;
  configPath: string;
  profiles: ProfileEntry[];
}

export interface Credentials {
  profile: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiration: string;
  expiresAt: number;
}

/** `aliyun/whoAmI`: the caller identity of the profile's STS credentials (STS GetCallerIdentity). */
export interface Identity {
  profile: string;
  accountId: string;
  /** `RAMUser`, `AssumedRoleUser` or `Account`. */
  identityType: string;
  arn: string;
  principalId: string;
  /** Absent for an assumed role. */
  userId: string | null;
  /** Set for assumed roles (their principalId is "<roleId>:<session>"). */
  roleId?: string | null;
}

export interface SignInParams {
  profile: string;
  site?: Site;
  region?: string;
  language?: Language;
  openBrowser?: boolean;
}

export interface SignInStarted {
  profile: string;
  url: string;
  redirectUri: string;
}

export interface CredentialsChanged {
  profile: string;
  kind: 'refreshed' | 'signInRequired';
  expiresAt?: number;
}

/** `aliyun/configError`: the error's `data` plus its message. */
export interface ConfigError {
  kind: string;
  message: string;
  path: string;
  where?: string;
  /** configCorrupt: 1-based position of the JSON syntax error, when it has one. */
  line?: number;
  column?: number;
  /** configInsecure: "owner" | "writable", and the fix. */
  reason?: string;
  fix?: string;
}

export interface CredentialsEndpoint {
  uri: string;
  environment: Record<string, string>;
}

export type ErrorKind =
  | 'invalidParams'
  | 'cancelled'
  | 'internal'
  | 'profileNotFound'
  | 'configCorrupt'
  | 'configUnavailable'
  | 'signInRequired'
  | 'signInDenied'
  | 'signInTimeout'
  | 'portsBusy'
  | 'network'
  | 'upstream'
  | 'clientNotAuthorized'
  | 'unknownSite'
  | 'configInsecure';

/** `initializationOptions` of `initialize` (every field optional). */
export interface InitializationOptions {
  configPath?: string;
  endpoints?: { signinBase?: string; oauthBase?: string; stsEndpoint?: string };
  callbackPorts?: [number, number];
  keepFresh?: boolean;
  logLevel?: LogLevel;
}

export type LogLevel = 'error' | 'warning' | 'info' | 'debug';

export const Methods = {
  listProfiles: 'aliyun/listProfiles',
  signIn: 'aliyun/signIn',
  completeSignIn: 'aliyun/completeSignIn',
  cancelSignIn: 'aliyun/cancelSignIn',
  switchProfile: 'aliyun/switchProfile',
  deleteProfile: 'aliyun/deleteProfile',
  setProfile: 'aliyun/setProfile',
  refresh: 'aliyun/refresh',
  getCredentials: 'aliyun/getCredentials',
  credentialsEndpoint: 'aliyun/credentialsEndpoint',
  whoAmI: 'aliyun/whoAmI',
} as const;

export const Notifications = {
  profilesChanged: 'aliyun/profilesChanged',
  credentialsChanged: 'aliyun/credentialsChanged',
  signInStarted: 'aliyun/signInStarted',
  configError: 'aliyun/configError',
} as const;

/** The JSON-RPC code the sidecar answers for a cancelled request (LSP RequestCancelled). */
export const REQUEST_CANCELLED = -32800;
