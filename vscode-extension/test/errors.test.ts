import { stub } from '../test-helpers/vscode';
import { beforeEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { setErrorLog, showError } from '../src/errors';

let lines: string[] = [];
beforeEach(() => {
  stub.messages = [];
  lines = [];
  setErrorLog({ error: (m: string) => lines.push(`error ${m}`), warn: (m: string) => lines.push(`warn ${m}`), info: (m: string) => lines.push(`info ${m}`) });
});

const denied = { code: -32021, message: 'x', data: { kind: 'signInDenied', error: 'access_denied', reason: 'userDenied' } };

test('each shown error writes its one line at its level', async () => {
  await showError(denied, { method: 'aliyun/signIn', profile: 'dev' });
  assert.equal(stub.messages.length, 1);
  assert.deepEqual(lines, ['warn Sign-in of "dev" failed: Deny was chosen on the sign-in page (signInDenied, userDenied). Next: sign in again and choose Authorize.']);
});

test('a failure already logged where it happened is not logged twice; a cancel is neither shown nor logged here', async () => {
  await showError(denied, { method: 'aliyun/signIn', profile: 'dev' }, { logged: true });
  assert.equal(stub.messages.length, 1);
  assert.deepEqual(lines, []);
  await showError({ code: -32800, message: 'cancelled', data: { kind: 'cancelled' } }, { method: 'aliyun/signIn' });
  assert.equal(stub.messages.length, 1);
  assert.deepEqual(lines, []);
});
