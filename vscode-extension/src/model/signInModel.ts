/**
 * The sign-in dialog's pure parts: validation that mirrors the sidecar's (so the user hears about a
 * bad value before the browser opens), the site/region/language choices, the paste-back URL check,
 * and the browser-URL safety check.
 */

import { DEFAULT_SITE, type Language, type ProfileEntry, type ProfileList, type Site, type SiteInfo } from './contract';
import { siteHost } from './sites';

export interface SignInInput {
  profile: string;
  site: Site;
  region: string;
  language: Language;
}

/** `undefined` = valid; else the message for the input box. Same rule as the sidecar's. */
export function validateProfileName(name: string): string | undefined {
  if (!name.trim()) return 'A profile name must not be empty.';
  if (name.length > 128) return 'A profile name must be at most 128 characters.';
  if ([...name].some((ch) => ch.charCodeAt(0) < 32)) return 'A profile name must not contain control characters.';
  return undefined;
}

export function validateRegion(region: string): string | undefined {
  if (region.length > 64 || !/^[A-Za-z0-9-]*$/.test(region)) return "A region id looks like 'cn-hangzhou' (letters, digits and dashes).";
  return undefined;
}

/**
 * The name offered first: the current profile when it is an OAuth one (signing in again), else a new
 * name, never an AK profile's: a sign-in turns the named profile into an OAuth one.
 */
export function defaultProfileName(list: ProfileList | undefined): string {
  const current = list?.profiles.find((p) => p.name === list.current);
  if (current?.state === 'notOAuth') return suggestNewProfileName(list);
  return list?.current || suggestNewProfileName(list);
}

/** A non-blocking warning for the name box: signing in to another mode's profile converts it. */
export function profileNameWarning(name: string, list: ProfileList | undefined): string | undefined {
  const existing = list?.profiles.find((p) => p.name === name);
  if (existing?.state !== 'notOAuth') return undefined;
  return `"${name}" is a ${existing.mode || 'non-OAuth'} profile: signing in turns it into an OAuth profile (its keys are replaced).`;
}

/** A name for a new profile that does not exist yet: "default", else "oauth", "oauth-2"... */
export function suggestNewProfileName(list: ProfileList | undefined): string {
  const taken = new Set((list?.profiles ?? []).map((p) => p.name));
  if (!taken.has('default')) return 'default';
  if (!taken.has('oauth')) return 'oauth';
  let n = 2;
  while (taken.has(`oauth-${n}`)) n++;
  return `oauth-${n}`;
}

export interface Choice<T> {
  value: T;
  label: string;
  description: string;
  detail?: string;
}

/** One choice per site of the sidecar's table (sites.ts), the previous choice first so Enter keeps it. */
export function siteChoices(sites: readonly SiteInfo[], previous: Site | null | undefined): Choice<Site>[] {
  const choices = sites.map((s) => ({
    value: s.name,
    label: s.name,
    description: s.label,
    // The label is the row's description already: the detail adds only where the sign-in happens.
    detail: `Signed in at ${siteHost(s.signinBase)}.`,
  }));
  const first = choices.findIndex((c) => c.value === previous);
  return first > 0 ? [choices[first]!, ...choices.filter((_, i) => i !== first)] : choices;
}

export function languageChoices(previous: string | undefined): Choice<Language>[] {
  const choices: Choice<Language>[] = [
    { value: 'en', label: 'en', description: 'English' },
    { value: 'zh', label: 'zh', description: '中文' },
  ];
  return previous === 'zh' ? [choices[1]!, choices[0]!] : choices;
}

/** Common region ids (the picker also accepts any other id typed in). */
const COMMON_REGIONS: ReadonlyArray<readonly [string, string]> = [
  ['cn-hangzhou', 'China (Hangzhou)'],
  ['cn-shanghai', 'China (Shanghai)'],
  ['cn-beijing', 'China (Beijing)'],
  ['cn-shenzhen', 'China (Shenzhen)'],
  ['cn-qingdao', 'China (Qingdao)'],
  ['cn-zhangjiakou', 'China (Zhangjiakou)'],
  ['cn-huhehaote', 'China (Hohhot)'],
  ['cn-wulanchabu', 'China (Ulanqab)'],
  ['cn-chengdu', 'China (Chengdu)'],
  ['cn-guangzhou', 'China (Guangzhou)'],
  ['cn-hongkong', 'China (Hong Kong)'],
  ['ap-southeast-1', 'Singapore'],
  ['ap-southeast-3', 'Malaysia (Kuala Lumpur)'],
  ['ap-southeast-5', 'Indonesia (Jakarta)'],
  ['ap-southeast-6', 'Philippines (Manila)'],
  ['ap-southeast-7', 'Thailand (Bangkok)'],
  ['ap-northeast-1', 'Japan (Tokyo)'],
  ['ap-northeast-2', 'South Korea (Seoul)'],
  ['us-west-1', 'US (Silicon Valley)'],
  ['us-east-1', 'US (Virginia)'],
  ['eu-central-1', 'Germany (Frankfurt)'],
  ['eu-west-1', 'UK (London)'],
  ['me-east-1', 'UAE (Dubai)'],
  ['me-central-1', 'Saudi Arabia (Riyadh)'],
];

/**
 * Region rows for what the user typed: the previous region first, then the common ones, then a
 * "use what I typed" row for a valid id that no listed id contains: Enter after typing "cn-hang" must
 * pick cn-hangzhou, not the partial id (the quick pick sorts matches by label, so only leaving the
 * row out guarantees that).
 */
export function regionChoices(typed: string, previous: string | undefined): Choice<string>[] {
  const t = typed.trim();
  const known = new Map(COMMON_REGIONS);
  const rows: Choice<string>[] = [];
  if (previous) rows.push({ value: previous, label: previous, description: `${known.get(previous) ?? 'region id'} · current region` });
  for (const [id, name] of COMMON_REGIONS) if (id !== previous) rows.push({ value: id, label: id, description: name });
  const partial = rows.some((r) => r.value.includes(t));
  if (t && !partial && !validateRegion(t)) rows.push({ value: t, label: t, description: 'use this region id' });
  rows.push({ value: '', label: '(no default region)', description: 'leave the region empty, as the CLI allows' });
  return rows;
}

/** A re-sign-in keeps the profile's own choices and asks nothing. */
export function inputFromEntry(entry: ProfileEntry): SignInInput {
  return {
    profile: entry.name,
    site: entry.site ?? DEFAULT_SITE,
    region: entry.region,
    language: entry.language === 'zh' ? 'zh' : 'en',
  };
}

/**
 * Paste-back check before sending: the loopback redirect the browser landed on, with `code` (or
 * `error`) and `state`. The sidecar checks `state` against the pending sign-in.
 */
export function validateRedirectUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return 'Paste the whole address from the browser, starting with http://127.0.0.1:';
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    return 'This is not the local redirect address (it starts with http://127.0.0.1:<port>/).';
  }
  if (!url.searchParams.get('state') || !(url.searchParams.get('code') || url.searchParams.get('error'))) {
    return 'The address has no "code" and "state": copy it from the browser after you clicked Authorize.';
  }
  return undefined;
}

/**
 * VS Code's `env.openExternal(Uri)` opens `encodeURI(uri.toString(true))`: every percent-escape is
 * decoded first, so an encoded `+ & = #` inside a query value comes out raw and changes the URL's
 * meaning (`%2B` → `+` = space). True when the URL goes through unchanged in meaning. The sidecar keeps
 * its values URL-safe, so this is a guard, not the normal path.
 */
export function survivesUriRoundTrip(url: string): boolean {
  return !/%(2B|26|3D|23)/i.test(url);
}

/** The commands the waiting notification links to (its only "buttons": a progress cannot have any). */
const WAITING_COMMANDS = {
  copy: 'aliyun.copySignInUrl',
  paste: 'aliyun.pasteSignInUrl',
  open: 'aliyun.openSignInUrl',
} as const;

const link = (label: string, command: string): string => `[${label}](command:${command})`;

/**
 * The one notification's text while the browser is awaited (VS Code shows it after the title
 * "Alibaba Cloud: signing in …"), with the ways out as command links. `port`: the callback's.
 */
export function waitingMessage(w: { mode: 'direct' | 'pasteBack'; opened: boolean; port: string }): string {
  const copy = link('Copy URL', WAITING_COMMANDS.copy);
  const open = link('Open again', WAITING_COMMANDS.open);
  const paste = link('Paste redirect URL…', WAITING_COMMANDS.paste);
  const start = w.opened ? 'finish in your browser.' : `no browser opened: ${copy} into a browser.`;
  if (w.mode === 'pasteBack') {
    return `${start} After Authorize the browser cannot load 127.0.0.1:${w.port}: copy the address it shows and paste it here. ${paste} · ${w.opened ? `${copy} · ` : ''}${open}`;
  }
  return `${start} ${w.opened ? `${copy} · ` : ''}${open} · ${paste}`;
}

/**
 * `Profile "work" signed in as RAM user dev in account 1234….` (`who`: describeIdentity's words).
 * The profile first: a toast without buttons shows one line, and the name must not be the part cut.
 */
export function signedInMessage(profile: string, who: string | undefined): string {
  return who ? `Profile "${profile}" signed in as ${who}.` : `Profile "${profile}" signed in to Alibaba Cloud.`;
}

/** The four prompts of a new sign-in, in order (the multi-step input; Back returns to the previous). */
export const SIGN_IN_STEPS = ['profile', 'site', 'region', 'language'] as const;
export type SignInStep = (typeof SIGN_IN_STEPS)[number];

/** Where the multi-step input goes after a step's answer: the next index, `done`, or `cancel`. */
export function stepAfter(index: number, answer: 'next' | 'back' | 'cancel'): number | 'done' | 'cancel' {
  if (answer === 'cancel') return 'cancel';
  if (answer === 'back') return Math.max(0, index - 1);
  return index + 1 >= SIGN_IN_STEPS.length ? 'done' : index + 1;
}

/** "a AK profile" → "an AK profile": the article before a mode name. */
export function withArticle(word: string): string {
  return `${/^(AK\b|[aeiou])/i.test(word) ? 'an' : 'a'} ${word}`;
}
