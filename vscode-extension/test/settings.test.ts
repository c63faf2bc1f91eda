import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { configPathOption, endpointsOption, expandHome, initializationOptions, MCP_ENDPOINTS, needsRestart, SIDECAR_ENDPOINTS, validPortRange } from '../src/model/settings';

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

test("the endpoints option: the sidecar's keys by default, the MCP ones on request, undefined when none is set", () => {
  const values = {
    'endpoints.signinBase': 'http://127.0.0.1:9000',
    'endpoints.openapiMcpEndpoint': ' https://mcp.example.test ',
    'endpoints.safePolicyEndpoint': '',
  };
  assert.deepEqual(endpointsOption(getter(values)), { signinBase: 'http://127.0.0.1:9000' });
  assert.deepEqual(endpointsOption(getter(values), [...SIDECAR_ENDPOINTS, ...MCP_ENDPOINTS]), {
    signinBase: 'http://127.0.0.1:9000',
    openapiMcpEndpoint: 'https://mcp.example.test',
  });
  assert.equal(endpointsOption(getter({ 'endpoints.openapiMcpEndpoint': 'https://x.test' })), undefined);
  // initialize never gets the MCP-only keys.
  assert.equal(initializationOptions(getter({ 'endpoints.ramoauthEndpoint': 'https://x.test' }), '/h').endpoints, undefined);
  assert.equal(configPathOption(getter({ configPath: '~/c.json' }), '/h'), '/h/c.json');
  assert.equal(configPathOption(getter({ configPath: ' ' }), '/h'), undefined);
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
  for (const s of ['aliyun.sidecar.pythonPath', 'aliyun.configPath', 'aliyun.endpoints.signinBase', 'aliyun.endpoints.stsEndpoint', 'aliyun.callbackPorts', 'aliyun.sidecar.logLevel']) {
    assert.ok(needsRestart(only(s)), s);
  }
  assert.ok(!needsRestart(only('aliyun.terminal.injectCredentials')));
  // The MCP servers' own endpoints restart those servers, not the sidecar (whose restart would give
  // every terminal a new credentials endpoint).
  for (const s of ['aliyun.endpoints.ramoauthEndpoint', 'aliyun.endpoints.openapiMcpEndpoint', 'aliyun.endpoints.safePolicyEndpoint', 'aliyun.mcp.mode']) {
    assert.ok(!needsRestart(only(s)), s);
  }
  assert.ok(!needsRestart(only('aliyun.trace.server')));
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ignoredSettingMessage, isUserOnly, userOnlyGetter, USER_ONLY_SETTINGS, type InspectedSetting } from '../src/model/settings';

test("settings that choose code, files or endpoints are read from User/Remote settings only; a folder's value is ignored and logged once", () => {
  const inspected: Record<string, InspectedSetting> = {
    'sidecar.pythonPath': { defaultValue: '', workspaceValue: './evil/python' },
    configPath: { defaultValue: '', globalValue: '~/mine.json', workspaceFolderValue: './tokens.json' },
    'endpoints.oauthBase': { defaultValue: '', workspaceValue: 'http://127.0.0.1:9/steal' },
    'endpoints.signinBase': { defaultValue: '', workspaceValue: 'http://127.0.0.1:9/steal' },
    'endpoints.stsEndpoint': { defaultValue: '', workspaceValue: '127.0.0.1:9' },
    callbackPorts: { defaultValue: [12345, 12349], workspaceValue: [40000, 40001] },
  };
  const merged = (k: string) => inspected[k]?.workspaceFolderValue ?? inspected[k]?.workspaceValue ?? inspected[k]?.globalValue ?? { 'sidecar.logLevel': 'debug' }[k];
  const ignored: string[] = [];
  const get = userOnlyGetter(merged, (k) => inspected[k], (k) => ignored.push(k));
  const opts = initializationOptions(get, '/h');
  assert.deepEqual(opts, { configPath: '/h/mine.json', callbackPorts: [12345, 12349], logLevel: 'debug' });
  assert.equal(get('sidecar.pythonPath'), '');
  initializationOptions(get, '/h'); // a second read (a restart) logs nothing new
  assert.deepEqual(ignored.sort(), ['callbackPorts', 'configPath', 'endpoints.oauthBase', 'endpoints.signinBase', 'endpoints.stsEndpoint', 'sidecar.pythonPath']);
  assert.match(ignoredSettingMessage('endpoints.oauthBase'), /^Ignored the workspace's value of aliyun\.endpoints\.oauthBase/);
  // A later endpoint or MCP setting is covered by its prefix; others read as usual.
  assert.ok(isUserOnly('endpoints.somethingNew') && isUserOnly('mcp.hosts'));
  assert.ok(!isUserOnly('sidecar.logLevel') && !isUserOnly('trace.server'));
});

test('package.json: every user-only setting has scope machine (VS Code hides it from folder settings), and no other has', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration[0].properties as Record<string, { scope?: string }>;
  for (const [name, p] of Object.entries(props)) {
    const key = name.replace(/^aliyun\./, '');
    assert.equal(p.scope === 'machine' || p.scope === 'application', isUserOnly(key), `${name}: scope ${p.scope}`);
  }
  for (const entry of USER_ONLY_SETTINGS.filter((k) => !k.endsWith('.'))) assert.ok(props[`aliyun.${entry}`], entry);
});
