import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cancelLogLine, configPosition, denyReason, describeError, failedEnding, positionText, isCancelled, OAUTH_DOCS_URL, SidecarDownError } from '../src/model/errorModel';

const rpc = (code: number, message: string, data: Record<string, unknown>) => ({ code, message, data });

test(`the user's own Deny (reason userDenied): a warning that says so, no administrator sentence`, () => {
  const v = describeError(rpc(-32021, 'refused', { kind: 'signInDenied', error: 'access_denied', description: 'The user denied the request.', reason: 'userDenied' }), {
    method: 'aliyun/signIn',
    profile: 'dev',
  })!;
  assert.equal(v.severity, 'warning');
  assert.match(v.message, /Sign-in of profile "dev" cancelled: Deny was chosen/);
  assert.doesNotMatch(v.message, /administrator|official-cli/);
  assert.deepEqual(v.actions.map((a) => a.kind), ['signIn']);
  assert.deepEqual(v.log, {
    level: 'warn',
    text: 'Sign-in of "dev" failed: Deny was chosen on the sign-in page (signInDenied, userDenied). Next: sign in again and choose Authorize.',
  });
});

test(`a bare access_denied without reason (older sidecar) is read as the user's Deny too`, () => {
  const v = describeError(rpc(-32021, 'refused', { kind: 'signInDenied', error: 'access_denied', description: '' }))!;
  assert.match(v.message, /Deny was chosen/);
  assert.equal(denyReason({ error: 'access_denied' }), 'userDenied');
});

test(`the service's "not authorized" (reason notAuthorized): the administrator's two steps and the docs`, () => {
  const v = describeError(rpc(-32021, 'refused', { kind: 'signInDenied', error: 'access_denied', description: 'The call is not authorized.', reason: 'notAuthorized' }))!;
  assert.equal(v.severity, 'error');
  assert.match(v.message, /The call is not authorized/);
  assert.match(v.message, /\(1\) install the official-cli application \(RAM console → Integrations → OAuth → Third-party Application → Provision Official Application → Official CLI\)/);
  assert.match(v.message, /\(2\) assign you to it/);
  assert.deepEqual(v.actions[0], { title: 'Open Documentation', kind: 'openDocs', arg: OAUTH_DOCS_URL });
  assert.match(v.log.text, /notAuthorized.*Next: a RAM administrator installs the official-cli application/);
  // Without the reason field, the service's wording alone says it.
  assert.equal(denyReason({ error: 'invalid_request', description: 'The call is not authorized.' }), 'notAuthorized');
});

test(`signInDenied for another reason keeps the service's words`, () => {
  const other = describeError(rpc(-32021, 'x', { kind: 'signInDenied', error: 'server_error', description: 'boom' }))!;
  assert.match(other.message, /server_error: boom/);
  assert.doesNotMatch(other.message, /official-cli/);
});

test(`timeout that may be the not-authorized page: names the administrator's steps and paste-back`, () => {
  const v = describeError(rpc(-32022, 'x', { kind: 'signInTimeout', seconds: 300, mayBeNotAuthorized: true }), { method: 'aliyun/signIn', profile: 'dev' })!;
  assert.match(v.message, /did not come back within 5 minutes/);
  assert.match(v.message, /never comes back: a RAM administrator must \(1\) install/);
  assert.match(v.message, /Paste redirect URL/);
  assert.match(v.log.text, /^Sign-in of "dev" failed: no answer from the browser within 5 minutes \(signInTimeout; the account may not be authorized/);
});

test('new kinds: clientNotAuthorized, unknownSite, configInsecure', () => {
  const client = describeError(rpc(-1, 'x', { kind: 'clientNotAuthorized', profile: 'dev', error: 'invalid_client', requestId: 'R-9' }))!;
  assert.match(client.message, /refused the Alibaba Cloud CLI application of profile "dev" \(invalid_client\): it is not installed in the account, or you are not assigned/);
  assert.match(client.message, /\(1\) install the official-cli/);
  assert.deepEqual(client.actions.map((a) => a.kind), ['openDocs', 'signIn']);
  assert.match(client.log.text, /request id R-9/);
  const site = describeError(rpc(-1, 'x', { kind: 'unknownSite', profile: 'dev', site: 'MARS', valid: ['CN', 'INTL'] }))!;
  assert.match(site.message, /unknown site "MARS" \(oauth_site_type; valid: CN, INTL\)\. Nothing was sent/);
  const insecure = describeError(rpc(-1, 'x', { kind: 'configInsecure', path: '/h/.aliyun', reason: 'writable', fix: 'chmod go-w /h/.aliyun' }))!;
  assert.match(insecure.message, /\/h\/\.aliyun can be written by other users, so it was not read\. Fix: chmod go-w \/h\/\.aliyun/);
  assert.match(insecure.log.text, /Next: chmod go-w/);
});

test('configCorrupt with line and column: says where, and Open File goes there', () => {
  const v = describeError(rpc(-32011, 'x', { kind: 'configCorrupt', path: '/c.json', where: 'line 3 column 7', line: 3, column: 7 }), { method: 'aliyun/configError' })!;
  assert.match(v.message, /\/c\.json is not valid \(line 3, column 7\)/);
  assert.deepEqual(v.actions, [{ title: 'Open File', kind: 'openConfig', arg: '/c.json', line: 3, column: 7 }]);
  assert.deepEqual(v.log, { level: 'error', text: 'The config file failed: /c.json is not valid (line 3, column 7) (configCorrupt). Next: fix the file or move it away; it is not written until then.' });
});

test('a restart during the sign-in: interrupted, sign in again', () => {
  const v = describeError(new SidecarDownError('The sidecar stopped.'), { method: 'aliyun/signIn', profile: 'dev' })!;
  assert.equal(v.severity, 'warning');
  assert.match(v.message, /sign-in of profile "dev" was interrupted/);
  assert.match(v.log.text, /^Sign-in of "dev" failed: the sidecar stopped or restarted/);
});

test('cancel has an info log line, not an error', () => {
  assert.deepEqual(cancelLogLine({ method: 'aliyun/signIn', profile: 'dev' }), { level: 'info', text: 'Sign-in of "dev" cancelled by the user.' });
});

test('user cancel is silent, except a paste-back with nothing pending', () => {
  assert.equal(describeError(rpc(-32800, 'cancelled', { kind: 'cancelled' })), undefined);
  assert.equal(describeError({ code: -32800, message: 'Request got cancelled' }), undefined);
  assert.ok(isCancelled({ code: -32800, message: 'x' }));
  const paste = describeError(rpc(-32800, 'cancelled', { kind: 'cancelled' }), { method: 'aliyun/completeSignIn' })!;
  assert.match(paste.message, /No sign-in is waiting/);
});

test('every kind has a sentence with a next step', () => {
  const cases: Array<[Record<string, unknown>, RegExp, string[]]> = [
    [{ kind: 'signInTimeout' }, /Paste redirect URL/, ['signIn', 'openDocs']],
    [{ kind: 'portsBusy', ports: [12345, 12349] }, /12345–12349.*aliyun\.callbackPorts/, ['openSettings', 'signIn']],
    [{ kind: 'network' }, /could not be reached.*sign-in is kept/, ['retry', 'showOutput']],
    [{ kind: 'upstream', error: 'invalid_grant', status: 400, requestId: 'R-1' }, /answered with an error: server says.*request id R-1/, ['retry', 'signIn', 'showOutput']],
    [{ kind: 'signInRequired', profile: 'dev' }, /Profile "dev" needs a new browser sign-in/, ['signIn']],
    [{ kind: 'profileNotFound', profile: 'x', existing: ['a', 'b'] }, /"x" does not exist \(existing: a, b\)/, ['signIn']],
    [{ kind: 'configCorrupt', path: '/c.json', where: 'line 3' }, /\/c\.json is not valid \(line 3\)/, ['openConfig']],
    [{ kind: 'configUnavailable' }, /cannot be read or written: server says/, ['showOutput', 'retry']],
    [{ kind: 'invalidParams', field: 'region' }, /server says/, []],
    [{ kind: 'internal' }, /internal error/, ['showOutput', 'restartSidecar']],
  ];
  for (const [data, re, kinds] of cases) {
    const v = describeError(rpc(-1, 'server says', data))!;
    assert.match(v.message, re, String(data.kind));
    assert.deepEqual(v.actions.map((a) => a.kind), kinds, String(data.kind));
    // One log line, naming the kind (the cause) and the next step.
    assert.match(v.log.text, new RegExp(`\\(${String(data.kind)}|${String(data.kind)}\\b.*Next: `), String(data.kind));
    assert.ok(['error', 'warn'].includes(v.log.level));
  }
});

test('a signInRequired action carries the profile', () => {
  const v = describeError(rpc(-32020, 'x', { kind: 'signInRequired', profile: 'dev' }))!;
  assert.equal(v.actions[0]!.arg, 'dev');
});

test('sidecar down → restart, settings, output', () => {
  const v = describeError(new SidecarDownError('Python "python3" was not found.'))!;
  assert.match(v.message, /not running\. Python "python3" was not found\./);
  assert.deepEqual(v.actions.map((a) => a.kind), ['restartSidecar', 'openSettings', 'showOutput']);
  assert.equal(v.actions[1]!.arg, 'aliyun.sidecar.pythonPath');
});

test('sidecar down for want of a usable Python: its own sentence and its one fix, nothing said twice', () => {
  const reason = 'The Alibaba Cloud extension needs Python 3.11 or newer: "/x/python3" (aliyun.sidecar.pythonPath) was not found. Change the setting.';
  const fix = { title: 'Open Settings', kind: 'openSettings' as const, arg: 'aliyun.sidecar.pythonPath' };
  const v = describeError(new SidecarDownError(reason, fix))!;
  assert.equal(v.message, reason);
  assert.deepEqual(v.actions, [fix]);
});

test('unknown errors keep the server message', () => {
  assert.match(describeError(new Error('socket hang up'))!.message, /socket hang up/);
});

test('a sidecar that sends only `where`: the position is read from it', () => {
  assert.deepEqual(configPosition({ where: 'JSON syntax error at line 4, column 20: Expecting value' }), { line: 4, column: 20 });
  assert.equal(positionText({ where: 'JSON syntax error at line 4, column 20: x' }), ' (line 4, column 20)');
  assert.equal(positionText({ where: '"profiles" is not an array' }), ' ("profiles" is not an array)');
  assert.equal(configPosition({ where: 'nested too deeply' }), undefined);
});

test("how a failed sign-in ended: the user's Cancel, superseded, interrupted by the sidecar, or an error", () => {
  const cancelled = { code: -32800, message: 'x', data: { kind: 'cancelled' } };
  assert.deepEqual(failedEnding(cancelled, { userCancelled: true, superseded: false }), { kind: 'cancelled' });
  assert.deepEqual(failedEnding(cancelled, { userCancelled: false, superseded: true }), { kind: 'superseded' });
  const interrupted = failedEnding(cancelled, { userCancelled: false, superseded: false });
  assert.equal(interrupted.kind, 'failed');
  assert.ok(interrupted.kind === 'failed' && interrupted.error instanceof SidecarDownError);
  // Its one log line reads as one sentence (no reason nested in parentheses, no ".).").
  const line = describeError(interrupted.kind === 'failed' ? interrupted.error : undefined, { method: 'aliyun/signIn', profile: 'dev' })!.log.text;
  assert.equal(line, 'Sign-in of "dev" failed: the sidecar stopped or restarted while waiting: it ended the sign-in as it shut down. Next: sign in again.');
  const denied = { code: -32021, message: 'x', data: { kind: 'signInDenied' } };
  assert.deepEqual(failedEnding(denied, { userCancelled: true, superseded: false }), { kind: 'failed', error: denied });
});
