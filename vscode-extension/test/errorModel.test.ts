import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeError, isCancelled, OAUTH_DOCS_URL, SidecarDownError } from '../src/model/errorModel';

const rpc = (code: number, message: string, data: Record<string, unknown>) => ({ code, message, data });

test('signInDenied access_denied → the RAM administrator sentence and the docs button', () => {
  const v = describeError(rpc(-32021, 'refused', { kind: 'signInDenied', error: 'access_denied', description: '' }))!;
  assert.equal(v.severity, 'error');
  assert.match(v.message, /The call is not authorized/);
  assert.match(v.message, /RAM administrator must install the official-cli OAuth application/);
  assert.match(v.message, /Integrations → OAuth → Third-party Application → Provision Official Application → Official CLI/);
  assert.match(v.message, /assign you to it/);
  assert.deepEqual(v.actions[0], { title: 'Open Documentation', kind: 'openDocs', arg: OAUTH_DOCS_URL });
});

test('signInDenied with the service wording but another error code is the same case', () => {
  const v = describeError(rpc(-32021, 'x', { kind: 'signInDenied', error: 'invalid_request', description: 'The call is not authorized.' }))!;
  assert.match(v.message, /official-cli/);
  const other = describeError(rpc(-32021, 'x', { kind: 'signInDenied', error: 'server_error', description: 'boom' }))!;
  assert.match(other.message, /server_error: boom/);
  assert.doesNotMatch(other.message, /official-cli/);
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
    [{ kind: 'signInTimeout' }, /Paste redirect URL/, ['signIn']],
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

test('unknown errors keep the server message', () => {
  assert.match(describeError(new Error('socket hang up'))!.message, /socket hang up/);
});
