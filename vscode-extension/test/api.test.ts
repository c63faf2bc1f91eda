import { FakeEnvironmentCollection, EventEmitter } from '../test-helpers/vscode';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createApi } from '../src/api';
import { TerminalEnv } from '../src/terminalEnv';
import type { CredentialsChanged, ProfileList } from '../src/model/contract';
import type { SidecarStatus } from '../src/model/statusModel';
import { list, oauth } from '../test-helpers/fixtures';

/** A Sidecar double: records requests, answers from a table. */
class FakeSidecar {
  status: SidecarStatus = { kind: 'running' };
  profiles: ProfileList | undefined = list('dev', oauth('dev'), oauth('prod'));
  readonly changed = new EventEmitter<void>();
  readonly started = new EventEmitter<void>();
  readonly creds = new EventEmitter<CredentialsChanged>();
  readonly onDidChange = this.changed.event;
  readonly onDidStart = this.started.event;
  readonly onDidChangeCredentials = this.creds.event;
  readonly requests: Array<[string, object | undefined]> = [];
  constructor(private readonly answers: Record<string, unknown>) {}
  async request<R>(method: string, params?: object): Promise<R> {
    this.requests.push([method, params]);
    const a = this.answers[method];
    if (a instanceof Error || (a && typeof a === 'object' && 'code' in a)) throw a;
    if (a === undefined) throw { code: -32601, message: `Unhandled method ${method}` };
    return a as R;
  }
}

const creds = { profile: 'dev', accessKeyId: 'STS.k', accessKeySecret: 's', securityToken: 't', expiration: '2027-01-15T08:00:00Z', expiresAt: 1800000000 };

test('getCredentials asks for the active profile by name, or the one given', async () => {
  const sc = new FakeSidecar({ 'aliyun/getCredentials': creds });
  const api = createApi(sc);
  assert.equal(api.apiVersion, 1);
  assert.equal(api.getActiveProfile(), 'dev');
  assert.deepEqual(await api.getCredentials(), creds);
  await api.getCredentials('prod');
  assert.deepEqual(sc.requests, [
    ['aliyun/getCredentials', { profile: 'dev' }],
    ['aliyun/getCredentials', { profile: 'prod' }],
  ]);
});

test('getCredentials errors carry the contract kind and a sentence', async () => {
  const sc = new FakeSidecar({ 'aliyun/getCredentials': { code: -32020, message: 'x', data: { kind: 'signInRequired', profile: 'dev' } } });
  const api = createApi(sc);
  await assert.rejects(api.getCredentials(), (e: Error & { kind: string }) => e.kind === 'signInRequired' && /needs a new browser sign-in/.test(e.message));
});

test('onDidChangeCredentials: sidecar notifications and a switch of the active profile', () => {
  const sc = new FakeSidecar({});
  const api = createApi(sc);
  const seen: unknown[] = [];
  api.onDidChangeCredentials((e) => seen.push(e));
  sc.creds.fire({ profile: 'dev', kind: 'refreshed', expiresAt: 1 });
  sc.changed.fire(); // same current: nothing
  sc.profiles = list('prod', oauth('dev'), oauth('prod'));
  sc.changed.fire();
  assert.deepEqual(seen, [
    { profile: 'dev', reason: 'refreshed' },
    { profile: 'prod', reason: 'activeProfileChanged' },
  ]);
  api.dispose();
});

test('terminals: the credentials endpoint when enabled and served; never ALIBABA_CLOUD_PROFILE', async () => {
  const endpoint = {
    uri: 'http://127.0.0.1:40123/credentials/abc',
    environment: {
      ALIBABA_CLOUD_CREDENTIALS_URI: 'http://127.0.0.1:40123/credentials/abc',
      ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true',
      ALIBABA_CLOUD_PROFILE: 'dev',
      PATH: '/evil',
    },
  };
  const sc = new FakeSidecar({ 'aliyun/credentialsEndpoint': endpoint });
  const coll = new FakeEnvironmentCollection();
  let inject = true;
  const env = new TerminalEnv(coll as never, sc, () => inject);
  assert.equal(coll.persistent, false);
  assert.deepEqual(Object.fromEntries(coll.vars), {});

  sc.started.fire();
  await new Promise((r) => setImmediate(r));
  const served = {
    ALIBABA_CLOUD_CREDENTIALS_URI: 'http://127.0.0.1:40123/credentials/abc',
    ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true',
  };
  assert.deepEqual(Object.fromEntries(coll.vars), served);
  assert.deepEqual(env.credentialVariables(), served);

  // A switch (profilesChanged with a new current) changes nothing in the terminals: the endpoint and
  // the file's `current` follow it, so terminals opened before the switch follow too.
  const clears = coll.clears;
  sc.profiles = list('prod', oauth('prod'));
  sc.changed.fire();
  assert.equal(coll.clears, clears);
  assert.ok(!coll.vars.has('ALIBABA_CLOUD_PROFILE'));

  // Sidecar down: its endpoint is gone.
  sc.status = { kind: 'down', reason: 'x' };
  sc.changed.fire();
  assert.deepEqual(Object.fromEntries(coll.vars), {});
  assert.deepEqual(env.credentialVariables(), {});

  // Disabled: nothing, and the endpoint is not even asked for.
  sc.status = { kind: 'running' };
  inject = false;
  const before = sc.requests.length;
  await env.refreshEndpoint();
  assert.equal(sc.requests.length, before);
  assert.deepEqual(Object.fromEntries(coll.vars), {});
  env.dispose();
});

test('terminals: a sidecar without the endpoint method sets no variable (and says why once)', async () => {
  const sc = new FakeSidecar({});
  const coll = new FakeEnvironmentCollection();
  const logs: string[] = [];
  const env = new TerminalEnv(coll as never, sc, () => true, (m) => logs.push(m));
  await env.refreshEndpoint();
  assert.deepEqual(Object.fromEntries(coll.vars), {});
  assert.equal(logs.length, 1);
  env.dispose();
});
