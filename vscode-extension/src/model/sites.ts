/**
 * The sign-in sites, as the sidecar's table says (`initialize` → `capabilities.experimental.aliyun`):
 * the extension keeps no list of its own, so a new site in the sidecar needs no change here. No
 * vscode import: unit-tested.
 */

import type { Site, SiteInfo } from './contract';

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * The site table of an `initialize` result; `[]` when it has none (a sidecar older than the table)
 * or a malformed one. Entries that do not fit the contract's SiteInfo are left out.
 */
export function sitesFrom(initializeResult: unknown): SiteInfo[] {
  const aliyun = (initializeResult as { capabilities?: { experimental?: { aliyun?: { sites?: unknown } } } } | undefined)
    ?.capabilities?.experimental?.aliyun;
  if (!aliyun || !Array.isArray(aliyun.sites)) return [];
  return aliyun.sites
    .filter((s): s is SiteInfo => {
      const o = s as Record<string, unknown> | null;
      return !!o && isString(o.name) && o.name !== '' && isString(o.label) && isString(o.signinBase) && isString(o.oauthBase);
    })
    .map(({ name, label, signinBase, oauthBase }) => ({ name, label, signinBase, oauthBase }));
}

/** "China site (aliyun.com)" for `CN`; the name itself for a site the table does not know. */
export function siteLabel(sites: readonly SiteInfo[], name: Site): string {
  return sites.find((s) => s.name === name)?.label ?? name;
}

/** The host people recognise in a base URL (`signin.aliyun.com`); the URL itself if it does not parse. */
export function siteHost(base: string): string {
  try {
    return new URL(base).host || base;
  } catch {
    return base;
  }
}

/**
 * The site step's placeholder. Short, and naming no site: each row already shows its name and label,
 * and a placeholder that listed them all was cut off in the box.
 */
export const SITE_PROMPT = 'Which Alibaba Cloud site is your account on?';
