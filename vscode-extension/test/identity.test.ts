import { EventEmitter } from '../test-helpers/vscode';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { IdentityStore } from '../src/identity';
import type { CredentialsChanged, Identity, ProfileList } from '../src/model/contract';
import { identityText } from '../src/model/identityModel';
import { ak, list, oauth } from '../test-helpers/fixtures';

const dev: Identity = { profile: 'dev', accountId: '1234567890123456', identityType: 'RAMUser', arn: 'acs:ram::1234567890123456:user/dev', principalId: '2088', userId: '2088' };
const other: Identity = { ...dev, arn: 'acs:ram::1234567890123456:user/alice' };

class FakeSidecar {
  profiles: ProfileList | undefined = list('dev', oauth('dev'), oauth('prod'), ak('ak1'));
  readonly changed = new EventEmitter<void>();
  readonly started = new EventEmitter<void>();
  readonly creds = new EventEmitter<CredentialsChanged>();
  readonly onDidChange = this.changed.event;
  readonly onDidStart = this.started.event;
  readonly onDidChangeCredentials = this.creds.event;
  readonly asked: string[] = [];
  answer: (profile: string) => unknown = () => dev;
  async request<R>(method: string, params?: object): Promise<R> {
    assert.equal(method, 'aliyun/whoAmI');
    const profile = (params as { profile: string }).profile;
    this.asked.push(profile);
    const a = this.answer(profile);
    if (a && typeof a === 'object' && 'code' in a) throw a;
    return a as R;
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
const text = (store: IdentityStore, sc: FakeSidecar, name: string): string =>
  identityText(store.stateOf(sc.profiles!.profiles.find((p) => p.name === name)!));

test('the current profile is looked up once (debounced), others stay unknown, AK profiles are never asked', async () => {
  const sc = new FakeSidecar();
  const store = new IdentityStore(sc, undefined, 1);
  let fired = 0;
  store.onDidChange(() => fired++);
  sc.started.fire();
  sc.changed.fire();
  sc.changed.fire();
  await settle();
  assert.deepEqual(sc.asked, ['dev']);
  assert.equal(text(store, sc, 'dev'), 'RAM user dev in account 1234567890123456');
  assert.equal(text(store, sc, 'prod'), 'identity unknown (not looked up yet)');
  assert.ok(fired >= 1);
  // More changes (refreshes): the identity does not change, nothing is asked.
  sc.changed.fire();
  sc.creds.fire({ profile: 'dev', kind: 'refreshed' });
  await settle();
  assert.deepEqual(sc.asked, ['dev']);
  // A switch to an AK profile: not asked.
  sc.profiles = list('ak1', oauth('dev'), ak('ak1'));
  sc.changed.fire();
  await settle();
  assert.deepEqual(sc.asked, ['dev']);
  store.dispose();
});

test('a sidecar without aliyun/whoAmI (-32601): unknown, one log line, never asked again until a restart', async () => {
  const sc = new FakeSidecar();
  sc.answer = () => ({ code: -32601, message: 'Method Not Found: aliyun/whoAmI' });
  const logs: string[] = [];
  const store = new IdentityStore(sc, (m) => logs.push(m), 1);
  sc.changed.fire();
  await settle();
  assert.deepEqual(await store.lookUp('dev'), { kind: 'unsupported' });
  sc.changed.fire();
  await settle();
  assert.deepEqual(sc.asked, ['dev', 'dev']); // the automatic one, then the explicit lookUp
  assert.equal(text(store, sc, 'dev'), 'identity unknown (this sidecar cannot look it up)');
  assert.equal(logs.length, 1);
  sc.answer = () => dev;
  sc.started.fire();
  await settle();
  assert.equal(text(store, sc, 'dev'), 'RAM user dev in account 1234567890123456');
  store.dispose();
});

test('a failed lookup: "lookup failed", logged without throwing', async () => {
  const sc = new FakeSidecar();
  sc.answer = () => ({ code: -32030, message: 'STS could not be reached', data: { kind: 'network' } });
  const logs: string[] = [];
  const store = new IdentityStore(sc, (m) => logs.push(m), 1);
  sc.changed.fire();
  await settle();
  assert.equal(text(store, sc, 'dev'), 'identity unknown (the lookup failed)');
  // One line: the cause and the next step.
  assert.deepEqual(logs, ['Who Am I of "dev" failed: Alibaba Cloud could not be reached (network: STS could not be reached). Next: check the network or proxy, then retry.']);
  store.dispose();
});

test('a new sign-in, a session end or a deletion forgets the identity', async () => {
  const sc = new FakeSidecar();
  const store = new IdentityStore(sc, undefined, 1);
  sc.changed.fire();
  await settle();
  sc.answer = () => other;
  store.signedIn('dev');
  assert.equal(text(store, sc, 'dev'), 'identity unknown (not looked up yet)');
  await settle();
  assert.equal(text(store, sc, 'dev'), 'RAM user alice in account 1234567890123456');

  sc.creds.fire({ profile: 'dev', kind: 'signInRequired' });
  assert.equal(text(store, sc, 'dev'), 'identity unknown (not looked up yet)');
  await settle();
  await store.lookUp('dev');
  sc.profiles = list('prod', oauth('prod'));
  sc.changed.fire();
  sc.profiles = list('prod', oauth('prod'), oauth('dev'));
  assert.equal(text(store, sc, 'dev'), 'identity unknown (not looked up yet)');
  store.dispose();
});

test('an answer for a profile forgotten meanwhile is dropped', async () => {
  const sc = new FakeSidecar();
  let release: ((v: Identity) => void) | undefined;
  sc.request = async <R>(_m: string, _p?: object): Promise<R> => new Promise<Identity>((r) => (release = r)) as Promise<R>;
  const store = new IdentityStore(sc, undefined, 1);
  const ask = store.lookUp('dev');
  store.signedIn('dev'); // someone else signed in while the old answer was on its way
  release!(dev);
  await ask;
  assert.equal(text(store, sc, 'dev'), 'identity unknown (not looked up yet)');
  store.dispose();
});
