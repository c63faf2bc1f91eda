/**
 * GENERATED from contract/aliyun-sidecar.contract.json by contract/generate.py: do not edit.
 * Change the source, then run `python -m contract.generate` (a pytest fails while this file is stale).
 *
 * The JSON-RPC contract with the sidecar, as TypeScript types (docs/contract.md explains it in prose).
 * No vscode import: tests and other modules use it as is.
 */

/** A sign-in site's name (CN, INTL, ...): one of initialize's capabilities.experimental.aliyun.sites. */
export type Site = string;

/** Language of the CLI's messages. */
export type Language = 'en' | 'zh';

/** The sidecar's stderr log level (always redacted). */
export type LogLevel = 'error' | 'warning' | 'info' | 'debug';

/** valid: the STS credentials in the file are good now; refreshable: they are not, but the access token or the refresh token can renew them without the browser; signInRequired: only a browser sign-in helps; notOAuth: a profile of another mode, never changed by the sidecar. */
export type ProfileState = 'valid' | 'refreshable' | 'signInRequired' | 'notOAuth';

/** Why a profile is signInRequired; or, for a refreshable profile, refreshTokenMayHaveExpired: the file's refresh-token expiry has passed, but it is only a hint (the real CLI rotates the token without updating it), so the refresh is still tried and only the service's refusal makes it signInRequired (refreshTokenExpired). */
export type StateReason = 'refreshTokenRefused' | 'refreshTokenExpired' | 'noRefreshToken' | 'clientNotAuthorized' | 'unknownSite' | 'refreshTokenMayHaveExpired';

/** What a client may know about one profile (never a secret). */
export interface ProfileEntry {
  /** the profile's name */
  name: string;
  /** OAuth, AK, RamRoleArn, ... */
  mode: string;
  /** the OAuth site; null for other modes */
  site: Site | null;
  /** the default region id, or "" */
  region: string;
  /** en, zh, or "" */
  language: string;
  /** the config file's current profile */
  isCurrent: boolean;
  /** see ProfileState */
  state: ProfileState;
  /** when the STS credentials expire (unix seconds) */
  stsExpiresAt: number | null;
  /** when the OAuth access token expires */
  accessTokenExpiresAt: number | null;
  /** when the refresh token expires (null: unknown or absent) */
  refreshTokenExpiresAt: number | null;
  /** false for a profile signed in without a refresh token (usable until the access token expires) */
  hasRefreshToken?: boolean;
  /** the source_profile of a chained profile (ChainableRamRoleArn...): shown as "via <source>" */
  sourceProfile?: string | null;
  /** why the state is signInRequired (or refreshTokenMayHaveExpired with refreshable) */
  stateReason?: StateReason | null;
}

/** Every profile of the config file. */
export interface ProfileList {
  /** the current profile's name, or "" */
  current: string;
  /** the config file's path */
  configPath: string;
  /** in file order */
  profiles: ProfileEntry[];
}

/** STS credentials of a profile (the only secrets the sidecar sends). */
export interface Credentials {
  /** the profile they belong to */
  profile: string;
  /** STS AccessKeyId */
  accessKeyId: string;
  /** STS AccessKeySecret */
  accessKeySecret: string;
  /** STS SecurityToken */
  securityToken: string;
  /** RFC 3339 UTC, 2026-11-25T09:00:00Z */
  expiration: string;
  /** the same instant in unix seconds */
  expiresAt: number;
}

/** The caller identity of a profile's STS credentials (STS GetCallerIdentity). */
export interface Identity {
  /** the profile asked about */
  profile: string;
  /** the account id */
  accountId: string;
  /** RAMUser, AssumedRoleUser or Account */
  identityType: string;
  /** the caller's ARN */
  arn: string;
  /** a RAM user's id; <roleId>:<session> for an assumed role */
  principalId: string;
  /** set for RAM users (and the account) */
  userId: string | null;
  /** set for assumed roles */
  roleId?: string | null;
}

/** The loopback credentials endpoint (ALIBABA_CLOUD_CREDENTIALS_URI). */
export interface CredentialsEndpoint {
  /** its URL (holds a secret path) */
  uri: string;
  /** the variables a terminal needs; apply all */
  environment: Record<string, string>;
}

/** A sign-in waits for the browser. */
export interface SignInStarted {
  /** the profile being signed in */
  profile: string;
  /** the sign-in page to open */
  url: string;
  /** the loopback callback the browser returns to */
  redirectUri: string;
}

/** A layer was renewed, or a refresh token was refused. */
export interface CredentialsChanged {
  /** the profile */
  profile: string;
  /** what happened */
  kind: 'refreshed' | 'signInRequired';
  /** the new STS expiry, for refreshed */
  expiresAt?: number;
}

/** The config file became unreadable, corrupt or insecure: the error's data plus its message. */
export interface ConfigError {
  /** the error's kind */
  kind: 'configCorrupt' | 'configUnavailable' | 'configInsecure';
  /** for the log (no secret) */
  message: string;
  /** the config file */
  path: string;
  /** configCorrupt: what is wrong where */
  where?: string;
  /** configCorrupt: 1-based line of a JSON syntax error */
  line?: number;
  /** configCorrupt: 1-based column */
  column?: number;
  /** configInsecure: another user owns it, or others can write it */
  reason?: 'owner' | 'writable';
  /** configInsecure: a shell command or sentence that fixes it */
  fix?: string;
}

/** One sign-in site of the sidecar's table (its effective endpoints). */
export interface SiteInfo {
  /** CN, INTL, ... */
  name: Site;
  /** for people: China site (aliyun.com) */
  label: string;
  /** where the sign-in page is */
  signinBase: string;
  /** where the OAuth API is */
  oauthBase: string;
}

/** initialize's result.capabilities.experimental.aliyun. */
export interface AliyunCapabilities {
  /** the sign-in sites, default first */
  sites: SiteInfo[];
  /** the sidecar's version */
  version: string;
}

/** Endpoints of one site. */
export interface SiteEndpoints {
  /** the sign-in page's base URL */
  signinBase?: string;
  /** the OAuth API's base URL */
  oauthBase?: string;
}

/** Where the sign-in page, the OAuth API and STS live, for all sites; per site under the site's name. */
export interface Endpoints {
  /** for all sites */
  signinBase?: string;
  /** for all sites */
  oauthBase?: string;
  /** the STS endpoint */
  stsEndpoint?: string;
  // Per-site keys (^[A-Z][A-Z0-9]*$) are described in the contract source.
}

/** initialize's initializationOptions (every field optional; unknown fields are ignored). */
export interface InitializationOptions {
  /** the shared config file; default $HOME/.aliyun/config.json */
  configPath?: string;
  /** {signinBase?, oauthBase?, stsEndpoint?, CN?: {signinBase?, oauthBase?}, INTL?: {...}}: where the sign-in page, the OAuth API and STS live (per site, or for all sites); see "Endpoints" in the README */
  endpoints?: Endpoints;
  /** [first, last]: loopback ports tried for the sign-in callback; default [12345, 12349] */
  callbackPorts?: [number, number];
  /** renew a layer when less than this remains; default 300 / 300 */
  refreshMarginSeconds?: {
    /** STS margin */
    sts?: number;
    /** access token margin */
    accessToken?: number;
  };
  /** keep the current profile's STS credentials and access token fresh in the file in the background (default true), for the CLI and SDKs */
  keepFresh?: boolean;
  /** how long a sign-in waits for the browser; default 300 */
  signInTimeoutSeconds?: number;
  /** the sidecar's stderr log level (always redacted); default info */
  logLevel?: LogLevel;
}

export type ListProfilesParams = Record<string, never>;

export interface SignInParams {
  /** the profile to sign in (created if new) */
  profile: string;
  /** ask the client to open the page (default true) */
  openBrowser?: boolean;
  /** report $/progress on it */
  workDoneToken?: string | number;
  /** default: the profile's site, else the default site */
  site?: Site;
  /** default: the profile's, else "" */
  region?: string;
  /** default: the profile's, else en */
  language?: Language;
}

export interface CompleteSignInParams {
  /** the redirect URL the browser landed on */
  url: string;
}

export interface CompleteSignInResult {
  /** always true */
  accepted: true;
}

export type CancelSignInParams = Record<string, never>;

export interface CancelSignInResult {
  /** whether a sign-in was pending */
  cancelled: boolean;
}

export interface SwitchProfileParams {
  /** the profile to make current */
  name: string;
}

export interface DeleteProfileParams {
  /** the profile to delete */
  name: string;
}

export interface SetProfileParams {
  /** the profile */
  name: string;
  /** its new default region */
  region?: string;
  /** its new language */
  language?: Language;
}

export interface RefreshParams {
  /** renew even if fresh */
  force?: boolean | 'sts' | 'accessToken';
  /** default: the selected profile */
  profile?: string;
}

export interface GetCredentialsParams {
  /** default: the selected profile */
  profile?: string;
}

export type CredentialsEndpointParams = Record<string, never>;

export interface WhoAmIParams {
  /** default: the selected profile */
  profile?: string;
}

/** Every request: its params and result types. */
export interface RequestTypes {
  'aliyun/listProfiles': { params: ListProfilesParams; result: ProfileList };
  'aliyun/signIn': { params: SignInParams; result: ProfileEntry };
  'aliyun/completeSignIn': { params: CompleteSignInParams; result: CompleteSignInResult };
  'aliyun/cancelSignIn': { params: CancelSignInParams; result: CancelSignInResult };
  'aliyun/switchProfile': { params: SwitchProfileParams; result: ProfileList };
  'aliyun/deleteProfile': { params: DeleteProfileParams; result: ProfileList };
  'aliyun/setProfile': { params: SetProfileParams; result: ProfileList };
  'aliyun/refresh': { params: RefreshParams; result: ProfileEntry };
  'aliyun/getCredentials': { params: GetCredentialsParams; result: Credentials };
  'aliyun/credentialsEndpoint': { params: CredentialsEndpointParams; result: CredentialsEndpoint };
  'aliyun/whoAmI': { params: WhoAmIParams; result: Identity };
}

/** Every notification (sidecar → client): its params type. */
export interface NotificationTypes {
  'aliyun/profilesChanged': ProfileList;
  'aliyun/credentialsChanged': CredentialsChanged;
  'aliyun/signInStarted': SignInStarted;
  'aliyun/configError': ConfigError;
}

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

/** Every `error.data.kind` the sidecar answers. */
export const ERROR_KINDS = [
  'internal',
  'invalidParams',
  'cancelled',
  'profileNotFound',
  'configCorrupt',
  'configUnavailable',
  'configInsecure',
  'unknownSite',
  'signInRequired',
  'signInDenied',
  'signInTimeout',
  'portsBusy',
  'clientNotAuthorized',
  'network',
  'upstream',
  'methodNotFound',
  'shuttingDown',
  'notInitialized',
  'invalidRequest',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The JSON-RPC error code of each kind. */
export const ERROR_CODES: Record<ErrorKind, number> = {
  internal: -32603,
  invalidParams: -32602,
  cancelled: -32800,
  profileNotFound: -32010,
  configCorrupt: -32011,
  configUnavailable: -32012,
  configInsecure: -32013,
  unknownSite: -32014,
  signInRequired: -32020,
  signInDenied: -32021,
  signInTimeout: -32022,
  portsBusy: -32023,
  clientNotAuthorized: -32024,
  network: -32030,
  upstream: -32031,
  methodNotFound: -32601,
  shuttingDown: -32600,
  notInitialized: -32002,
  invalidRequest: -32600,
};

/** The `error.data` object of each kind. */
export interface ErrorData {
  internal: {
    kind: 'internal';
  };
  invalidParams: {
    kind: 'invalidParams';
    /** the offending field */
    field?: string;
  };
  cancelled: {
    kind: 'cancelled';
  };
  profileNotFound: {
    kind: 'profileNotFound';
    /** the name asked for */
    profile: string;
    /** the names that exist */
    existing: string[];
  };
  configCorrupt: {
    kind: 'configCorrupt';
    /** the file */
    path: string;
    /** what is wrong where */
    where: string;
    /** 1-based line of a JSON syntax error */
    line?: number;
    /** 1-based column */
    column?: number;
  };
  configUnavailable: {
    kind: 'configUnavailable';
    /** the file or folder, when known */
    path?: string;
  };
  configInsecure: {
    kind: 'configInsecure';
    /** the folder or file */
    path: string;
    /** another user owns it, or others can write it */
    reason: 'owner' | 'writable';
    /** a shell command or sentence that fixes it */
    fix: string;
  };
  unknownSite: {
    kind: 'unknownSite';
    /** the profile */
    profile?: string;
    /** its oauth_site_type */
    site: string;
    /** the known sites */
    valid: Site[];
  };
  signInRequired: {
    kind: 'signInRequired';
    /** the profile */
    profile: string;
    /** why */
    reason?: StateReason;
  };
  signInDenied: {
    kind: 'signInDenied';
    /** the browser's error=, e.g. access_denied */
    error: string;
    /** the browser's error_description */
    description: string;
    /** the user's own Deny, the service's not-authorized answer, or another */
    reason?: 'userDenied' | 'notAuthorized' | 'other';
  };
  signInTimeout: {
    kind: 'signInTimeout';
    /** how long it waited */
    seconds?: number;
    /** the not-authorized page may never redirect */
    mayBeNotAuthorized?: true;
  };
  portsBusy: {
    kind: 'portsBusy';
    /** [first, last] */
    ports: [number, number];
  };
  clientNotAuthorized: {
    kind: 'clientNotAuthorized';
    /** the profile */
    profile?: string;
    /** invalid_client, unauthorized_client or invalid_token */
    error?: string;
    /** the service's request id */
    requestId?: string;
  };
  network: {
    kind: 'network';
    /** the host that could not be reached */
    host?: string;
  };
  upstream: {
    kind: 'upstream';
    /** the service's error code */
    error?: string;
    /** the HTTP status */
    status?: number;
    /** the service's request id */
    requestId?: string;
  };
  methodNotFound: {
    kind: 'methodNotFound';
  };
  shuttingDown: {
    kind: 'shuttingDown';
  };
  notInitialized: {
    kind: 'notInitialized';
  };
  invalidRequest: {
    kind: 'invalidRequest';
  };
}

/** The JSON-RPC code the sidecar answers for a cancelled request (LSP RequestCancelled). */
export const REQUEST_CANCELLED = -32800;

/** The default sign-in site (the first of initialize's sites): where a profile without a site signs in. */
export const DEFAULT_SITE: Site = 'CN';

/** The bounds of a callback port, as the sidecar checks `callbackPorts`. */
export const CALLBACK_PORT_MIN = 1024;
export const CALLBACK_PORT_MAX = 65535;
