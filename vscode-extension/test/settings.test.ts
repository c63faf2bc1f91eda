import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { expandHome, initializationOptions, needsRestart, validPortRange } from '../src/model/settings';

const getter = (values: Record<string, unknown>) => (k: string) => values[k];

test('unset settings send nothing: the sidecar owns the defaults', () => {
  assert.deepEqual(initializationOptions(getter({ configPath: '', 'endpoints.signinBase': ' ', callbackPorts: [12345, 12349] }), '/h'), {
    callbackPorts: [12345, 12349],
  });
  assert.deepEqual(initializationOptions(getter({}), '/h'), {});
});

test('every setting maps to its initializationOptions field', () => {
  const opts = initializationOptions(
    getter({
      configPath: '~/.aliyun/other.json',
      'endpoints.signinBase': 'http://127.0.0.1:9000',
      'endpoints.oauthBase': 'http://127.0.0.1:9001',
      'endpoints.stsEndpoint': 'sts.example.test',
      callbackPorts: [40000, 40004],
      'sidecar.keepFresh': false,
      'sidecar.logLevel': 'debug',
    }),
    '/home/u',
  );
  assert.deepEqual(opts, {
    configPath: '/home/u/.aliyun/other.json',
    endpoints: { signinBase: 'http://127.0.0.1:9000', oauthBase: 'http://127.0.0.1:9001', stsEndpoint: 'sts.example.test' },
    callbackPorts: [40000, 40004],
    keepFresh: false,
    logLevel: 'debug',
  });
});

test('bad values are left out instead of failing initialize', () => {
  const opts = initializationOptions(getter({ callbackPorts: [5, 70000], 'sidecar.logLevel': 'loud', 'sidecar.keepFresh': 'yes' }), '/h');
  assert.deepEqual(opts, {});
  assert.equal(validPortRange([2000, 1000]), undefined);
  assert.equal(validPortRange([2000]), undefined);
  assert.equal(validPortRange([2000.5, 3000]), undefined);
  assert.deepEqual(validPortRange([2000, 2000]), [2000, 2000]);
});

test('~ expansion', () => {
  assert.equal(expandHome('~', '/h'), '/h');
  assert.equal(expandHome('~/x', '/h'), '/h/x');
  assert.equal(expandHome('/abs/~/x', '/h'), '/abs/~/x');
});

test('which changes restart the sidecar', () => {
  const only = (section: string) => (s: string) => s === section;
  for (const s of ['aliyun.sidecar.pythonPath', 'aliyun.configPath', 'aliyun.endpoints', 'aliyun.callbackPorts', 'aliyun.sidecar.logLevel']) {
    assert.ok(needsRestart(only(s)), s);
  }
  assert.ok(!needsRestart(only('aliyun.terminal.injectCredentials')));
  assert.ok(!needsRestart(only('aliyun.trace.server')));
});
