import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { siteHost, siteLabel, SITE_PROMPT, sitesFrom } from '../src/model/sites';
import { SITES } from '../test-helpers/fixtures';

const result = (aliyun: unknown): unknown => ({ capabilities: { experimental: { aliyun } }, serverInfo: { name: 'aliyun-sidecar' } });

test('sitesFrom reads the site table of the initialize result', () => {
  assert.deepEqual(sitesFrom(result({ sites: SITES, version: '0.1.0' })), SITES);
});

test('sitesFrom: no table (an older sidecar, no sidecar) or a malformed one gives no sites', () => {
  assert.deepEqual(sitesFrom(undefined), []);
  assert.deepEqual(sitesFrom({ capabilities: {} }), []);
  assert.deepEqual(sitesFrom(result({ sites: 'CN' })), []);
  assert.deepEqual(sitesFrom(result({ sites: [null, { name: 'CN' }, { ...SITES[1], extra: 1 }] })), [SITES[1]]);
});

test('labels and hosts come from the table; the placeholder names no site', () => {
  assert.equal(siteLabel(SITES, 'INTL'), 'International site (alibabacloud.com)');
  assert.equal(siteLabel(SITES, 'XX'), 'XX');
  assert.equal(siteHost('https://signin.aliyun.com'), 'signin.aliyun.com');
  assert.equal(siteHost('not a url'), 'not a url');
  // The rows name the sites; the placeholder only asks (one that listed them was cut off in the box).
  assert.equal(SITE_PROMPT, 'Which Alibaba Cloud site is your account on?');
  for (const s of SITES) assert.ok(!SITE_PROMPT.includes(s.label) && !SITE_PROMPT.includes(s.name));
});
