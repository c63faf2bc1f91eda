/** ProfileEntry / ProfileList builders for the model tests. */

import type { ProfileEntry, ProfileList, SiteInfo } from '../src/model/contract';

export const NOW = 1_800_000_000;

/** The sidecar's site table as its initialize result sends it (sidecar/sites.py). */
export const SITES: SiteInfo[] = [
  { name: 'CN', label: 'China site (aliyun.com)', signinBase: 'https://signin.aliyun.com', oauthBase: 'https://oauth.aliyun.com' },
  {
    name: 'INTL',
    label: 'International site (alibabacloud.com)',
    signinBase: 'https://signin.alibabacloud.com',
    oauthBase: 'https://oauth.alibabacloud.com',
  },
];

export function oauth(name: string, over: Partial<ProfileEntry> = {}): ProfileEntry {
  return {
    name,
    mode: 'OAuth',
    site: 'CN',
    region: 'cn-hangzhou',
    language: 'en',
    isCurrent: false,
    state: 'valid',
    stsExpiresAt: NOW + 3000,
    accessTokenExpiresAt: NOW + 6000,
    refreshTokenExpiresAt: NOW + 86400 * 30,
    hasRefreshToken: true,
    ...over,
  };
}

export function ak(name: string, over: Partial<ProfileEntry> = {}): ProfileEntry {
  return {
    name,
    mode: 'AK',
    site: null,
    region: 'cn-shanghai',
    language: 'en',
    isCurrent: false,
    state: 'notOAuth',
    stsExpiresAt: null,
    accessTokenExpiresAt: null,
    refreshTokenExpiresAt: null,
    hasRefreshToken: false,
    ...over,
  };
}

export function list(current: string, ...profiles: ProfileEntry[]): ProfileList {
  return {
    current,
    configPath: '/home/u/.aliyun/config.json',
    profiles: profiles.map((p) => ({ ...p, isCurrent: p.name === current })),
  };
}

/** A deterministic formatter: the tests must not depend on the machine's time zone. */
export const fmt = (s: number): string => `T${s - NOW}`;
