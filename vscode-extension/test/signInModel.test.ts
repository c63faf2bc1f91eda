import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  SIGN_IN_STEPS,
  signedInMessage,
  stepAfter,
  waitingMessage,
  withArticle,
  defaultProfileName,
  inputFromEntry,
  languageChoices,
  profileNameWarning,
  regionChoices,
  siteChoices,
  suggestNewProfileName,
  survivesUriRoundTrip,
  validateProfileName,
  validateRedirectUrl,
  validateRegion,
} from '../src/model/signInModel';
import { ak, list, oauth, SITES } from '../test-helpers/fixtures';

test('profile name validation mirrors the sidecar', () => {
  assert.equal(validateProfileName('dev'), undefined);
  assert.ok(validateProfileName(''));
  assert.ok(validateProfileName('   '));
  assert.ok(validateProfileName('a'.repeat(129)));
  assert.ok(validateProfileName('a\tb'));
  assert.equal(validateProfileName('名前 with space'), undefined);
});

test('default and suggested names', () => {
  assert.equal(defaultProfileName(undefined), 'default');
  assert.equal(defaultProfileName(list('dev', oauth('dev'))), 'dev');
  // Never an AK profile: a sign-in would turn it into an OAuth one.
  assert.equal(defaultProfileName(list('default', ak('default'))), 'oauth');
  assert.equal(defaultProfileName(list('')), 'default');
  assert.match(profileNameWarning('default', list('default', ak('default')))!, /AK profile: signing in turns it into an OAuth profile/);
  assert.equal(profileNameWarning('dev', list('dev', oauth('dev'))), undefined);
  assert.equal(profileNameWarning('new', list('dev', oauth('dev'))), undefined);
  assert.equal(suggestNewProfileName(list('x')), 'default');
  assert.equal(suggestNewProfileName(list('default', oauth('default'))), 'oauth');
  assert.equal(suggestNewProfileName(list('default', oauth('default'), oauth('oauth'), oauth('oauth-2'))), 'oauth-3');
});

test('site choices explain each site of the sidecar\'s table; the previous one first', () => {
  const [cn, intl] = siteChoices(SITES, undefined);
  assert.equal(cn!.value, 'CN');
  assert.match(cn!.description, /China site \(aliyun\.com\)/);
  assert.match(cn!.detail!, /^Signed in at signin\.aliyun\.com\.$/);
  assert.doesNotMatch(cn!.detail!, /China site/, 'the label is the description already');
  assert.match(intl!.description, /International site \(alibabacloud\.com\)/);
  assert.equal(siteChoices(SITES, 'INTL')[0]!.value, 'INTL');
  // A third site of the table is offered with no change here; previous first, the others in order.
  const third = { name: 'XX', label: 'Test site', signinBase: 'https://signin.example.test', oauthBase: 'https://oauth.example.test' };
  assert.deepEqual(siteChoices([...SITES, third], 'XX').map((c) => c.value), ['XX', 'CN', 'INTL']);
  assert.deepEqual(siteChoices(SITES, 'gone').map((c) => c.value), ['CN', 'INTL']);
  assert.equal(languageChoices('zh')[0]!.value, 'zh');
  assert.equal(languageChoices(undefined)[0]!.value, 'en');
});

test('region rows: previous first, common ones, a typed id after them, and "none"', () => {
  const rows = regionChoices('cn-newregion-9', 'cn-shanghai');
  assert.equal(rows[0]!.value, 'cn-shanghai');
  assert.match(rows[0]!.description, /current region/);
  assert.equal(rows.filter((r) => r.value === 'cn-shanghai').length, 1);
  assert.equal(rows.at(-2)!.value, 'cn-newregion-9');
  assert.equal(rows.at(-1)!.value, '');
  // A partial, a known or an invalid id adds no row.
  assert.ok(!regionChoices('cn-hang', undefined).some((r) => r.value === 'cn-hang'));
  assert.equal(regionChoices('cn-hangzhou', undefined).filter((r) => r.value === 'cn-hangzhou').length, 1);
  assert.ok(!regionChoices('bad region!', undefined).some((r) => r.value === 'bad region!'));
  assert.ok(validateRegion('bad region!'));
  assert.equal(validateRegion(''), undefined);
});

test('re-sign-in keeps the profile choices', () => {
  assert.deepEqual(inputFromEntry(oauth('dev', { site: 'INTL', region: 'eu-central-1', language: 'zh' })), {
    profile: 'dev',
    site: 'INTL',
    region: 'eu-central-1',
    language: 'zh',
  });
  assert.equal(inputFromEntry(oauth('x', { site: null, language: 'fr' })).site, 'CN');
});

test('paste-back URL check', () => {
  assert.equal(validateRedirectUrl('http://127.0.0.1:12345/cli/callback?code=abc&state=xyz'), undefined);
  assert.equal(validateRedirectUrl(' http://localhost:12346/cli/callback?error=access_denied&state=xyz '), undefined);
  assert.ok(validateRedirectUrl('not a url'));
  assert.ok(validateRedirectUrl('https://signin.aliyun.com/oauth2/v1/auth?code=a&state=b'));
  assert.ok(validateRedirectUrl('http://127.0.0.1:12345/cli/callback?state=xyz'));
});

/** What VS Code's openExternal(Uri) opens: every escape decoded, then encodeURI (see browser.ts). */
function vscodeOpenExternal(url: string): string {
  return encodeURI(url.replace(/%[0-9A-Fa-f]{2}/g, (m) => String.fromCharCode(parseInt(m.slice(1), 16))));
}

function sameQuery(a: string, b: string): boolean {
  const qa = [...new URL(a).searchParams].sort().join('\n');
  const qb = [...new URL(b).searchParams].sort().join('\n');
  return qa === qb;
}

test('the URL-safety guard agrees with what a Uri round trip does', () => {
  const safe = [
    'https://signin.aliyun.com/oauth2/v1/auth?client_id=4038181954557748008&response_type=code&code_challenge=Ab-_x9&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A12345%2Fcli%2Fcallback&state=aZ-_09&scope=openid%20aliyun',
    'http://127.0.0.1:5000/oauth2/v1/auth?state=abc',
  ];
  for (const url of safe) {
    assert.ok(survivesUriRoundTrip(url));
    assert.ok(sameQuery(url, vscodeOpenExternal(url)), url);
  }
  const unsafe = 'https://signin.aliyun.com/auth?code_challenge=a%2Bb%3D&state=x%26y';
  assert.ok(!survivesUriRoundTrip(unsafe));
  assert.ok(!sameQuery(unsafe, vscodeOpenExternal(unsafe)), 'the guard is needed: this one breaks');
});

test('multi-step input: Back goes to the previous step (never before the first), the last Next is done', () => {
  assert.deepEqual(SIGN_IN_STEPS, ['profile', 'site', 'region', 'language']);
  assert.equal(stepAfter(0, 'next'), 1);
  assert.equal(stepAfter(2, 'back'), 1);
  assert.equal(stepAfter(0, 'back'), 0);
  assert.equal(stepAfter(3, 'next'), 'done');
  assert.equal(stepAfter(1, 'cancel'), 'cancel');
});

test('articles and the signed-in sentence', () => {
  assert.equal(withArticle('AK'), 'an AK');
  assert.equal(withArticle('OAuth'), 'an OAuth');
  assert.equal(withArticle('StsToken'), 'a StsToken');
  assert.equal(withArticle('EcsRamRole'), 'an EcsRamRole');
  assert.equal(signedInMessage('work', 'RAM user dev in account 1234'), 'Profile "work" signed in as RAM user dev in account 1234.');
  assert.equal(signedInMessage('work', undefined), 'Profile "work" signed in to Alibaba Cloud.');
});

test('the waiting message when no browser opened leads with Copy URL', () => {
  assert.match(waitingMessage({ mode: 'direct', opened: false, port: '12345' }), /^no browser opened: \[Copy URL\]\(command:aliyun\.copySignInUrl\) into a browser\. \[Open again\]/);
});
