import '../test-helpers/vscode';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as vscode from 'vscode';
import { redactingChannel } from '../src/output';

/** A LogOutputChannel double recording what reaches it. */
function fakeChannel() {
  const written: string[] = [];
  const channel = {
    name: 'Alibaba Cloud',
    logLevel: 1,
    onDidChangeLogLevel: () => ({ dispose() {} }),
    trace: (m: string) => written.push(`trace ${m}`),
    debug: (m: string) => written.push(`debug ${m}`),
    info: (m: string) => written.push(`info ${m}`),
    warn: (m: string) => written.push(`warn ${m}`),
    error: (m: string | Error) => written.push(`error ${String(m)}`),
    append: (m: string) => written.push(`append ${m}`),
    appendLine: (m: string) => written.push(`appendLine ${m}`),
    replace: (m: string) => written.push(`replace ${m}`),
    clear: () => written.push('clear'),
    show: () => written.push('show'),
    hide: () => undefined,
    dispose: () => undefined,
  };
  return { channel: channel as unknown as vscode.LogOutputChannel, written };
}

test('the channel given to vscode-languageclient never receives credentials', () => {
  const { channel, written } = fakeChannel();
  const out = redactingChannel(channel);
  // What the client writes at aliyun.trace.server = verbose.
  out.trace("Received response 'aliyun/getCredentials - (4)' in 3ms.\nResult: {\n    \"accessKeySecret\": \"SECRET1\",\n    \"securityToken\": \"SECRET2\"\n}");
  out.info('Params: {"url":"http://127.0.0.1:12345/cli/callback?code=SECRET3&state=s"}');
  out.error(new Error('boom {"accessKeySecret":"SECRET4"}'));
  out.appendLine('plain line');
  assert.equal(written.length, 4);
  assert.ok(!written.join('\n').match(/SECRET\d/), written.join('\n'));
  assert.equal(written[3], 'appendLine plain line');
});

test('everything else passes through', () => {
  const { channel, written } = fakeChannel();
  const out = redactingChannel(channel);
  assert.equal(out.name, 'Alibaba Cloud');
  assert.equal(out.logLevel, 1);
  out.show();
  out.clear();
  assert.deepEqual(written, ['show', 'clear']);
});
