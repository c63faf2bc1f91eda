import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { configProblemOf, OPEN_CONFIG_COMMAND, statusView } from '../src/model/statusModel';
import { sessionEndsAt, viewState } from '../src/model/profileView';
import { ak, fmt, list, NOW, oauth, SITES } from '../test-helpers/fixtures';

const running = { kind: 'running' } as const;

test('valid OAuth profile: short text with region, no background, click opens the picker', () => {
  const v = statusView(running, list('dev', oauth('dev')), NOW, fmt, undefined, SITES);
  assert.equal(v.state, 'valid');
  assert.equal(v.text, '$(cloud) dev · cn-hangzhou');
  assert.equal(v.background, undefined);
  assert.equal(v.command, 'aliyun.switchProfile');
  assert.match(v.tooltip, /Mode: OAuth/);
  assert.match(v.tooltip, /Site: China site \\\(aliyun\\\.com\\\)/);
  // Each layer's expiry, through the (local-time) formatter.
  assert.match(v.tooltip, /STS credentials expire: T3000/);
  assert.match(v.tooltip, /Access token expires: T6000/);
  assert.match(v.tooltip, /Session \(refresh token\) ends: T2592000/);
  assert.match(v.tooltip, /config\\\.json/);
});

test('no region: the text is just the profile', () => {
  assert.equal(statusView(running, list('dev', oauth('dev', { region: '' })), NOW, fmt).text, '$(cloud) dev');
});

test('expires soon: refresh token ends in under 10 minutes', () => {
  const l = list('dev', oauth('dev', { refreshTokenExpiresAt: NOW + 8 * 60 }));
  const v = statusView(running, l, NOW, fmt);
  assert.equal(v.state, 'expiresSoon');
  assert.equal(v.text, '$(cloud) dev · 8 min left');
  assert.equal(v.background, undefined);
  // At 10 minutes and more it is not "soon".
  assert.equal(statusView(running, list('dev', oauth('dev', { refreshTokenExpiresAt: NOW + 600 })), NOW, fmt).state, 'valid');
});

test('STS expiring soon alone is routine (the sidecar renews it), not "expires soon"', () => {
  const v = statusView(running, list('dev', oauth('dev', { stsExpiresAt: NOW + 60 })), NOW, fmt);
  assert.equal(v.state, 'valid');
});

test('without refresh and access tokens, the STS expiry ends the session', () => {
  const e = oauth('dev', { refreshTokenExpiresAt: null, accessTokenExpiresAt: null, stsExpiresAt: NOW + 120 });
  assert.equal(sessionEndsAt(e), NOW + 120);
  assert.equal(viewState(e, NOW), 'expiresSoon');
  // An access token without a known refresh expiry: unknown end, never a guess.
  assert.equal(sessionEndsAt(oauth('x', { refreshTokenExpiresAt: null })), null);
});

test('a valid entry whose STS time passed shows as refreshable, never as signInRequired', () => {
  const v = statusView(running, list('dev', oauth('dev', { stsExpiresAt: NOW - 1 })), NOW, fmt);
  assert.equal(v.state, 'refreshable');
  assert.equal(v.background, undefined);
  assert.match(v.tooltip, /\(expired\)/);
});

test('signInRequired: warning background and "sign in" text', () => {
  const v = statusView(running, list('dev', oauth('dev', { state: 'signInRequired', stsExpiresAt: NOW - 10 })), NOW, fmt);
  assert.equal(v.state, 'signInRequired');
  assert.equal(v.text, '$(cloud) dev: sign in');
  assert.equal(v.background, 'warning');
  assert.match(v.tooltip, /sign in again/);
});

test('non-OAuth current profile is shown as such', () => {
  const v = statusView(running, list('ak1', ak('ak1')), NOW, fmt);
  assert.equal(v.state, 'notOAuth');
  assert.equal(v.text, '$(cloud) ak1 · cn-shanghai');
  assert.match(v.tooltip, /AK profile, not managed here/);
  assert.doesNotMatch(v.tooltip, /STS credentials expire/);
});

test('not signed in: no profiles → Sign In; a dangling current with profiles → the picker', () => {
  const empty = statusView(running, list('default'), NOW, fmt);
  assert.equal(empty.state, 'notSignedIn');
  assert.equal(empty.command, 'aliyun.signIn');
  const dangling = statusView(running, list('gone', oauth('dev')), NOW, fmt);
  assert.equal(dangling.state, 'notSignedIn');
  assert.equal(dangling.command, 'aliyun.switchProfile');
});

test('sidecar down: says so with the reason, click restarts, no background', () => {
  const v = statusView({ kind: 'down', reason: 'Python 3.9.2 is too old.' }, list('dev', oauth('dev')), NOW, fmt);
  assert.equal(v.state, 'down');
  assert.equal(v.command, 'aliyun.restartSidecar');
  assert.equal(v.background, undefined);
  assert.match(v.tooltip, /Python 3\\\.9\\\.2 is too old\\\./);
});

test('starting without a list yet: a spinner', () => {
  const v = statusView({ kind: 'starting' }, undefined, NOW, fmt);
  assert.equal(v.state, 'starting');
  assert.match(v.text, /sync~spin/);
});

test('profile names are escaped in the Markdown tooltip', () => {
  const v = statusView(running, list('a*b_[x](y)', oauth('a*b_[x](y)')), NOW, fmt);
  assert.match(v.tooltip, /profile `a\*b_\[x\]\(y\)`/);
});

test('a corrupt config file: a warning state naming line and column, whose click opens the file; never "signed in" nor "sign in"', () => {
  const problem = { kind: 'configCorrupt', message: 'x', path: '/c.json', where: 'line 3 column 7', line: 3, column: 7 } as const;
  // Even with the last good list still known (the running window), the file's state wins.
  const v = statusView(running, list('dev', oauth('dev')), NOW, fmt, undefined, [], problem);
  assert.equal(v.state, 'configInvalid');
  assert.equal(v.text, '$(warning) Alibaba Cloud: config file invalid (line 3, column 7)');
  assert.equal(v.background, 'warning');
  assert.equal(v.command, OPEN_CONFIG_COMMAND);
  assert.match(v.tooltip, /\/c\\\.json/);
  assert.match(v.tooltip, /Click to open the file at the error/);
  // After a restart (no list at all) it is the same state.
  assert.equal(statusView(running, undefined, NOW, fmt, undefined, [], problem).text, v.text);
  // Without a position: no "(line …)".
  assert.equal(statusView(running, undefined, NOW, fmt, undefined, [], { kind: 'configCorrupt', message: 'x', path: '/c.json' }).text, '$(warning) Alibaba Cloud: config file invalid');
  assert.equal(statusView(running, undefined, NOW, fmt, undefined, [], { kind: 'configInsecure', message: 'x', path: '/c.json', reason: 'writable' }).text, '$(warning) Alibaba Cloud: config file not safe');
});

test('an empty profile list (an empty file) is "sign in", not an error', () => {
  const v = statusView(running, { current: '', configPath: '/c.json', profiles: [] }, NOW, fmt);
  assert.equal(v.state, 'notSignedIn');
  assert.equal(v.command, 'aliyun.signIn');
  assert.equal(v.background, undefined);
});

test('configProblemOf: only the file kinds of a failed request', () => {
  assert.deepEqual(configProblemOf({ message: 'm', data: { kind: 'configCorrupt', path: '/c.json', line: 1, column: 2 } }), {
    kind: 'configCorrupt',
    message: 'm',
    path: '/c.json',
    line: 1,
    column: 2,
  });
  assert.equal(configProblemOf({ message: 'm', data: { kind: 'network' } }), undefined);
  assert.equal(configProblemOf(new Error('x')), undefined);
});

test('sign-in required says why (stateReason); a chained profile names its source; no refresh token is said', () => {
  const refused = statusView(running, list('dev', oauth('dev', { state: 'signInRequired', stateReason: 'refreshTokenRefused' })), NOW, fmt);
  assert.match(refused.tooltip, /Sign-in required: the service refused the refresh token/);
  const notAuthorized = statusView(running, list('dev', oauth('dev', { state: 'signInRequired', stateReason: 'clientNotAuthorized' })), NOW, fmt);
  assert.match(notAuthorized.tooltip, /official\\-cli application is not installed in the account or not assigned to you/);
  const chained = statusView(running, list('chain', ak('chain', { mode: 'ChainableRamRoleArn', sourceProfile: 'dev' })), NOW, fmt);
  assert.match(chained.tooltip, /Source profile: dev/);
  const noRefresh = oauth('dev', { hasRefreshToken: false, refreshTokenExpiresAt: null, accessTokenExpiresAt: NOW + 300 });
  const v = statusView(running, list('dev', noRefresh), NOW, fmt);
  assert.match(v.tooltip, /without a refresh token/);
  // The access token is the session: 5 minutes left is "expires soon".
  assert.equal(v.state, 'expiresSoon');
});

test('a passed refresh-token expiry is a hint: "may have expired", still renewable, never a sign-in', () => {
  const e = oauth('dev', {
    state: 'refreshable',
    stateReason: 'refreshTokenMayHaveExpired',
    stsExpiresAt: NOW - 10,
    accessTokenExpiresAt: NOW - 10,
    refreshTokenExpiresAt: NOW - 3600,
  });
  const v = statusView(running, list('dev', e), NOW, fmt);
  assert.notEqual(v.state, 'signInRequired');
  assert.match(v.tooltip, /State: session may have expired/);
  assert.doesNotMatch(v.tooltip, /Sign-in required/);
});
