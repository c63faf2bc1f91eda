import { EventEmitter, stub, Uri } from '../test-helpers/vscode';
import { beforeEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SignInFlow } from '../src/signIn';
import type { ProfileEntry, ProfileList, SignInStarted } from '../src/model/contract';
import { list, oauth } from '../test-helpers/fixtures';

const STARTED: SignInStarted = {
  profile: 'dev',
  url: 'https://signin.aliyun.com/oauth2/v1/auth?client_id=1&state=s1',
  redirectUri: 'http://127.0.0.1:12345/cli/callback',
};
const INPUT = { profile: 'dev', site: 'CN', region: 'cn-hangzhou', language: 'en' } as const;
const GOOD = 'http://127.0.0.1:12345/cli/callback?code=c0de&state=s1';
const STALE = 'http://127.0.0.1:12345/cli/callback?code=old&state=s0';

/** A sidecar double: `aliyun/signIn` announces itself, then waits for the callback or a paste. */
class FakeSidecar {
  profiles: ProfileList | undefined = list('dev', oauth('dev'));
  readonly log = { info: (m: string) => this.logs.push(m) };
  readonly logs: string[] = [];
  readonly started = new EventEmitter<SignInStarted>();
  readonly onSignInStarted = this.started.event;
  readonly requests: Array<[string, unknown]> = [];
  /** Resolves the pending `aliyun/signIn` (the browser reached the callback, or a paste was accepted). */
  finish: ((entry: ProfileEntry) => void) | undefined;
  async request<R>(method: string, params?: object): Promise<R> {
    this.requests.push([method, params]);
    if (method === 'aliyun/signIn') {
      return new Promise<R>((resolve) => {
        this.finish = (entry) => resolve(entry as R);
        setImmediate(() => this.started.fire(STARTED));
      });
    }
    if (method === 'aliyun/completeSignIn') {
      const url = (params as { url: string }).url;
      if (url !== GOOD) {
        throw { code: -32602, message: 'This URL belongs to another or an older sign-in; start again and paste the newest one.', data: { kind: 'invalidParams', field: 'url' } };
      }
      setImmediate(() => this.finish?.(oauth('dev')));
      return { accepted: true } as R;
    }
    throw { code: -32601, message: `Unhandled method ${method}` };
  }
  async refreshProfiles(): Promise<void> {}
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

beforeEach(() => {
  stub.remoteName = undefined;
  stub.asExternalUri = async (uri) => uri;
  stub.config = {};
  stub.messages = [];
  stub.inputBoxes = [];
  stub.events = [];
  stub.statusMessages = [];
});

test('remote window forwarded to another port: browser opens, then paste-back; a stale URL re-prompts', async () => {
  stub.remoteName = 'ssh-remote';
  stub.asExternalUri = async () => Uri.parse('http://localhost:54321/');
  const sc = new FakeSidecar();
  const flow = new SignInFlow(sc as never);
  const signedIn: string[] = [];
  flow.onDidSignIn((e) => signedIn.push(e.name));
  const run = flow.run(INPUT);

  await until(() => stub.inputBoxes.length > 0, 'the paste box');
  // Forward first, then the browser, then the box.
  assert.deepEqual(stub.events, ['asExternalUri http://127.0.0.1:12345/', `openExternal ${STARTED.url}`, 'inputBox']);
  const box = stub.inputBoxes[0]!;
  assert.ok(box.visible);
  assert.equal(box.ignoreFocusOut, true);
  const instructions = 'After you press Authorize, the browser will fail to load a page on 127.0.0.1:12345. Copy the whole address from the address bar and paste it here.';
  assert.equal(box.prompt, instructions);
  await until(() => stub.messages.some((m) => m.includes(instructions)), 'the notification');
  assert.ok(stub.messages.some((m) => m.startsWith('info: ') && m.includes('profile "dev"') && m.includes(instructions)));
  assert.ok(sc.logs.some((l) => /pasteBack .*localhost:54321/.test(l)));

  // A stale address: the sidecar's sentence in the box, which stays open.
  box.type(STALE);
  assert.equal(box.validationMessage, undefined);
  box.accept();
  await until(() => box.validationMessage !== undefined, 'the stale-URL message');
  assert.match(box.validationMessage!, /older sign-in/);
  assert.ok(box.visible);
  assert.equal(box.enabled, true);

  // The right one, with spaces around it as pasted: completes the sign-in.
  box.type(`  ${GOOD} `);
  box.accept();
  await run;
  assert.deepEqual(
    sc.requests.filter(([m]) => m === 'aliyun/completeSignIn'),
    [
      ['aliyun/completeSignIn', { url: STALE }],
      ['aliyun/completeSignIn', { url: GOOD }],
    ],
  );
  assert.equal(box.visible, false);
  assert.deepEqual(signedIn, ['dev']);
  assert.equal(sc.requests.find(([m]) => m === 'aliyun/signIn')![1] instanceof Object, true);
  assert.equal((sc.requests.find(([m]) => m === 'aliyun/signIn')![1] as { openBrowser: boolean }).openBrowser, false);
  assert.ok(!stub.messages.some((m) => m.startsWith('error:') || m.startsWith('warning:')), stub.messages.join('\n'));
});

test('forwarded to the same local port: direct, no paste box', async () => {
  stub.remoteName = 'ssh-remote';
  stub.asExternalUri = async () => Uri.parse('http://localhost:12345/');
  const sc = new FakeSidecar();
  const flow = new SignInFlow(sc as never);
  const run = flow.run(INPUT);
  await until(() => stub.events.some((e) => e.startsWith('openExternal')), 'the browser');
  await until(() => stub.messages.length > 0, 'the notification');
  assert.match(stub.messages[0]!, /Finish signing in to Alibaba Cloud in your browser/);
  sc.finish!(oauth('dev'));
  await run;
  assert.equal(stub.inputBoxes.length, 0);
});

test('local window: asExternalUri is not even asked', async () => {
  let asked = false;
  stub.asExternalUri = async (u) => ((asked = true), u);
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never).run(INPUT);
  await until(() => stub.events.some((e) => e.startsWith('openExternal')), 'the browser');
  sc.finish!(oauth('dev'));
  await run;
  assert.equal(asked, false);
  assert.equal(stub.inputBoxes.length, 0);
});

test('aliyun.signIn.mode = pasteBack in a local window; the box closes when the callback was reached after all', async () => {
  stub.config['aliyun.signIn.mode'] = 'pasteBack';
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never).run(INPUT);
  await until(() => stub.inputBoxes.length > 0, 'the paste box');
  assert.deepEqual(stub.events, [`openExternal ${STARTED.url}`, 'inputBox']);
  const box = stub.inputBoxes[0]!;
  sc.finish!(oauth('dev')); // the browser's own redirect got through
  await run;
  assert.equal(box.visible, false);
  assert.ok(!sc.requests.some(([m]) => m === 'aliyun/completeSignIn'));
});

test('forwarding that throws counts as unreachable: paste-back', async () => {
  stub.remoteName = 'dev-container';
  stub.asExternalUri = async () => {
    throw new Error('no tunnel');
  };
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never).run(INPUT);
  await until(() => stub.inputBoxes.length > 0, 'the paste box');
  stub.inputBoxes[0]!.type(GOOD);
  stub.inputBoxes[0]!.accept();
  await run;
  assert.ok(sc.logs.some((l) => /no tunnel/.test(l)));
});
