import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { callbackOrigin, callbackPort, callbackReachability, signInMode } from '../src/model/callbackModel';

const REDIRECT = 'http://127.0.0.1:12345/cli/callback';

test('the origin handed to asExternalUri, and the port for the instructions', () => {
  assert.equal(callbackOrigin(REDIRECT), 'http://127.0.0.1:12345/');
  assert.equal(callbackOrigin('not a url'), undefined);
  assert.equal(callbackPort(REDIRECT), '12345');
});

test('local window: direct, whatever asExternalUri would say', () => {
  assert.deepEqual(callbackReachability(REDIRECT, undefined, undefined), { mode: 'direct', reason: 'local window' });
  assert.equal(callbackReachability(REDIRECT, 'http://127.0.0.1:12345/', undefined).mode, 'direct');
});

test('remote window forwarded to the same local port: the registered redirect works, direct', () => {
  for (const external of ['http://127.0.0.1:12345/', 'http://localhost:12345/', 'http://localhost:12345']) {
    const r = callbackReachability(REDIRECT, external, 'ssh-remote');
    assert.equal(r.mode, 'direct', external);
    assert.match(r.reason, /same local port 12345/);
  }
});

test('remote window forwarded to another port: paste-back', () => {
  const r = callbackReachability(REDIRECT, 'http://localhost:54321/', 'wsl');
  assert.equal(r.mode, 'pasteBack');
  assert.match(r.reason, /wsl.*localhost:54321.*127\.0\.0\.1:12345/);
});

test('an https tunnel (Codespaces) or a proxy path (code-server): paste-back', () => {
  assert.equal(callbackReachability(REDIRECT, 'https://fluffy-12345.app.github.dev/', 'codespaces').mode, 'pasteBack');
  assert.equal(callbackReachability(REDIRECT, 'https://127.0.0.1:12345/', 'dev-container').mode, 'pasteBack');
  // code-server answers with its own port and /proxy/<port>/, and even on the same port a path breaks it.
  assert.equal(callbackReachability(REDIRECT, 'http://127.0.0.1:8080/proxy/12345/', '127.0.0.1:8080').mode, 'pasteBack');
  assert.equal(callbackReachability(REDIRECT, 'http://127.0.0.1:12345/proxy/12345/', '127.0.0.1:12345').mode, 'pasteBack');
  assert.equal(callbackReachability(REDIRECT, 'http://devbox.example:12345/', 'ssh-remote').mode, 'pasteBack');
});

test('forwarding failed in a remote window: paste-back', () => {
  const r = callbackReachability(REDIRECT, undefined, 'ssh-remote');
  assert.equal(r.mode, 'pasteBack');
  assert.match(r.reason, /could not be forwarded/);
});

test('aliyun.signIn.mode = pasteBack wins, even in a local window', () => {
  assert.equal(signInMode('pasteBack'), 'pasteBack');
  assert.equal(signInMode('bogus'), 'auto');
  assert.equal(signInMode(undefined), 'auto');
  assert.equal(callbackReachability(REDIRECT, undefined, undefined, 'pasteBack').mode, 'pasteBack');
  assert.equal(callbackReachability(REDIRECT, 'http://127.0.0.1:12345/', 'ssh-remote', 'pasteBack').mode, 'pasteBack');
});
