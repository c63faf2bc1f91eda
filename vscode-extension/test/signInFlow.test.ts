import { EventEmitter, stub, Uri, type FakeProgress } from '../test-helpers/vscode';
import { beforeEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SignInFlow } from '../src/signIn';
import { setErrorLog } from '../src/errors';
import { SidecarDownError } from '../src/model/errorModel';
import type { ConfigError } from '../src/model/contract';
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

type Token = { isCancellationRequested: boolean; onCancellationRequested: (l: () => void) => unknown };

/** A sidecar double: `aliyun/signIn` announces itself, then waits for the callback, a paste, a cancel or a failure. */
class FakeSidecar {
  profiles: ProfileList | undefined = list('dev', oauth('dev'));
  configProblem: ConfigError | undefined;
  readonly log = { info: (m: string) => this.logs.push(m) };
  readonly logs: string[] = [];
  readonly started = new EventEmitter<SignInStarted>();
  readonly onSignInStarted = this.started.event;
  readonly requests: Array<[string, unknown]> = [];
  /** Resolves the pending `aliyun/signIn` (the browser reached the callback, or a paste was accepted). */
  finish: ((entry: ProfileEntry) => void) | undefined;
  /** Rejects the pending `aliyun/signIn` (deny, timeout, a restart of the sidecar...). */
  fail: ((error: unknown) => void) | undefined;
  async request<R>(method: string, params?: object, token?: Token): Promise<R> {
    this.requests.push([method, params]);
    if (method === 'aliyun/signIn') {
      return new Promise<R>((resolve, reject) => {
        this.finish = (entry) => resolve(entry as R);
        this.fail = reject;
        token?.onCancellationRequested(() => reject({ code: -32800, message: 'The request was cancelled.', data: { kind: 'cancelled' } }));
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

const WHO = async (profile: string): Promise<string | undefined> => (profile === 'dev' ? 'RAM user dev in account 1234567890123456' : undefined);
let logLines: string[] = [];

beforeEach(() => {
  stub.remoteName = undefined;
  stub.asExternalUri = async (uri) => uri;
  stub.config = {};
  stub.messages = [];
  stub.inputBoxes = [];
  stub.events = [];
  stub.statusMessages = [];
  stub.progresses = [];
  stub.answer = () => undefined;
  logLines = [];
  setErrorLog({ error: (m: string) => logLines.push(`error ${m}`), warn: (m: string) => logLines.push(`warn ${m}`), info: (m: string) => logLines.push(`info ${m}`) });
});

/** The one notification of a sign-in: exactly one, and no other message while it waits. */
function onlyNotification(): FakeProgress {
  assert.equal(stub.progresses.length, 1, 'one progress notification');
  const p = stub.progresses[0]!;
  assert.equal(p.cancellable, true);
  assert.equal(p.title, 'Alibaba Cloud: signing in "dev"');
  return p;
}

const waitingText = (p: FakeProgress): string => p.messages[p.messages.length - 1] ?? '';

test('remote window forwarded to another port: one notification says paste-back; the box opens from its link; a stale URL re-prompts', async () => {
  stub.remoteName = 'ssh-remote';
  stub.asExternalUri = async () => Uri.parse('http://localhost:54321/');
  const sc = new FakeSidecar();
  const flow = new SignInFlow(sc as never, WHO);
  const signedIn: string[] = [];
  flow.onDidSignIn((e) => signedIn.push(e.name));
  const run = flow.run(INPUT);

  await until(() => stub.progresses[0]?.messages.some((m) => m.includes('Paste redirect URL')) ?? false, 'the waiting message');
  const p = onlyNotification();
  // Forward first, then the browser; the paste box waits for the link (one surface while waiting).
  assert.deepEqual(stub.events, ['asExternalUri http://127.0.0.1:12345/', `openExternal ${STARTED.url}`]);
  assert.equal(
    waitingText(p),
    'finish in your browser. After Authorize the browser cannot load 127.0.0.1:12345: copy the address it shows and paste it here. ' +
      '[Paste redirect URL…](command:aliyun.pasteSignInUrl) · [Copy URL](command:aliyun.copySignInUrl) · [Open again](command:aliyun.openSignInUrl)',
  );
  assert.deepEqual(stub.messages, []);
  assert.ok(sc.logs.some((l) => /pasteBack .*localhost:54321/.test(l)));

  // The link runs aliyun.pasteSignInUrl.
  const pasting = flow.pasteRedirectUrl();
  const box = stub.inputBoxes[0]!;
  assert.ok(box.visible);
  assert.equal(box.ignoreFocusOut, true);
  assert.equal(box.placeholder, 'http://127.0.0.1:12345/cli/callback?code=…&state=…');

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
  await pasting;
  assert.deepEqual(
    sc.requests.filter(([m]) => m === 'aliyun/completeSignIn'),
    [
      ['aliyun/completeSignIn', { url: STALE }],
      ['aliyun/completeSignIn', { url: GOOD }],
    ],
  );
  assert.equal(box.visible, false);
  assert.deepEqual(signedIn, ['dev']);
  assert.equal((sc.requests.find(([m]) => m === 'aliyun/signIn')![1] as { openBrowser: boolean }).openBrowser, false);
  // The step is said in the notification, which has closed; the status bar keeps no stale step.
  assert.ok(p.messages.includes('redirect URL accepted, finishing the sign-in…'));
  assert.equal(p.open, false);
  assert.deepEqual(stub.statusMessages, []);
  assert.deepEqual(stub.messages, ['info: Profile "dev" signed in as RAM user dev in account 1234567890123456.']);
});

test('direct (forwarded to the same local port): the links are Copy URL, Open again, Paste; success closes the notification and names the identity', async () => {
  stub.remoteName = 'ssh-remote';
  stub.asExternalUri = async () => Uri.parse('http://localhost:12345/');
  const sc = new FakeSidecar();
  const flow = new SignInFlow(sc as never, WHO);
  const run = flow.run(INPUT);
  await until(() => (stub.progresses[0]?.messages.length ?? 0) > 1, 'the waiting message');
  const p = onlyNotification();
  assert.equal(
    waitingText(p),
    'finish in your browser. [Copy URL](command:aliyun.copySignInUrl) · [Open again](command:aliyun.openSignInUrl) · [Paste redirect URL…](command:aliyun.pasteSignInUrl)',
  );
  // Copy URL and Open again act on the waiting sign-in.
  await flow.copyUrl();
  assert.equal(stub.clipboard, STARTED.url);
  await flow.openAgain();
  assert.equal(stub.events.filter((e) => e === `openExternal ${STARTED.url}`).length, 2);
  sc.finish!(oauth('dev'));
  await run;
  assert.equal(p.open, false);
  assert.equal(stub.inputBoxes.length, 0);
  assert.deepEqual(stub.messages, ['info: Profile "dev" signed in as RAM user dev in account 1234567890123456.']);
  // After the end, the links say that nothing waits (they do not act on a finished sign-in).
  await flow.copyUrl();
  assert.match(stub.messages[1]!, /No sign-in is waiting for the browser/);
});

test('"Signed in as …" carries a Who Am I button (a toast with a button shows its whole text), which runs the command', async () => {
  const asked: string[][] = [];
  stub.answer = (_text, items) => {
    asked.push(items);
    return items.includes('Who Am I') ? 'Who Am I' : undefined;
  };
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never, WHO).run(INPUT);
  await until(() => sc.finish !== undefined, 'the sign-in request');
  sc.finish!(oauth('dev'));
  await run;
  assert.deepEqual(stub.messages, ['info: Profile "dev" signed in as RAM user dev in account 1234567890123456.']);
  assert.deepEqual(asked, [['Who Am I']]);
  await until(() => stub.events.includes('command aliyun.whoAmI'), 'the Who Am I command');
  // Identity unknown: the short message needs no button.
  asked.length = 0;
  stub.messages = [];
  const sc2 = new FakeSidecar();
  const run2 = new SignInFlow(sc2 as never).run(INPUT);
  await until(() => sc2.finish !== undefined, 'the sign-in request');
  sc2.finish!(oauth('dev'));
  await run2;
  assert.deepEqual(stub.messages, ['info: Profile "dev" signed in to Alibaba Cloud.']);
  assert.deepEqual(asked, [[]]);
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
  // No identity known: the message still names the profile.
  assert.deepEqual(stub.messages, ['info: Profile "dev" signed in to Alibaba Cloud.']);
});

test(`the user's Deny: the notification closes, a warning says so, one warn log line names the cause`, async () => {
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never, WHO).run(INPUT);
  await until(() => sc.fail !== undefined, 'the request');
  sc.fail!({ code: -32021, message: 'refused', data: { kind: 'signInDenied', error: 'access_denied', description: 'denied', reason: 'userDenied' } });
  await run;
  assert.equal(onlyNotification().open, false);
  assert.equal(stub.messages.length, 1);
  assert.match(stub.messages[0]!, /^warning: Sign-in of profile "dev" cancelled: Deny was chosen/);
  assert.deepEqual(logLines, ['warn Sign-in of "dev" failed: Deny was chosen on the sign-in page (signInDenied, userDenied). Next: sign in again and choose Authorize.']);
});

test('Cancel on the notification: it closes, no error, an info log line, a short status message', async () => {
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never, WHO).run(INPUT);
  await until(() => (stub.progresses[0]?.messages.length ?? 0) > 1, 'the waiting message');
  stub.progresses[0]!.cancel();
  await run;
  assert.equal(onlyNotification().open, false);
  assert.deepEqual(stub.messages, []);
  assert.deepEqual(logLines, ['info Sign-in of "dev" cancelled by the user.']);
  assert.deepEqual(stub.statusMessages, ['Alibaba Cloud: sign-in cancelled']);
});

test('a restart of the sidecar while waiting: the notification closes and says it was interrupted', async () => {
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never, WHO).run(INPUT);
  await until(() => sc.fail !== undefined, 'the request');
  sc.fail!(new SidecarDownError('The sidecar stopped.'));
  await run;
  assert.equal(onlyNotification().open, false);
  assert.match(stub.messages[0]!, /^warning: The sign-in of profile "dev" was interrupted/);
  assert.equal(logLines.length, 1);
});

test('timeout and the paste box: the box closes with the sign-in', async () => {
  const sc = new FakeSidecar();
  const flow = new SignInFlow(sc as never, WHO);
  const run = flow.run(INPUT);
  await until(() => (stub.progresses[0]?.messages.length ?? 0) > 1, 'the waiting message');
  void flow.pasteRedirectUrl();
  const box = stub.inputBoxes[0]!;
  sc.fail!({ code: -32022, message: 'timeout', data: { kind: 'signInTimeout', seconds: 300, mayBeNotAuthorized: true } });
  await run;
  assert.equal(box.visible, false);
  assert.equal(onlyNotification().open, false);
  assert.match(stub.messages[0]!, /^warning: The browser did not come back within 5 minutes\. If the page said "The call is not authorized", it never comes back/);
});

test('Paste Redirect URL… with no sign-in waiting says so instead of opening an empty box', async () => {
  const flow = new SignInFlow(new FakeSidecar() as never);
  await flow.pasteRedirectUrl();
  assert.equal(stub.inputBoxes.length, 0);
  assert.match(stub.messages[0]!, /^info: No sign-in is waiting for a redirect URL/);
});

test('a broken config file: Sign In refuses at once, before any prompt, naming line and column', async () => {
  const sc = new FakeSidecar();
  sc.configProblem = { kind: 'configCorrupt', message: 'bad', path: '/c.json', where: 'line 2 column 5', line: 2, column: 5 };
  await new SignInFlow(sc as never).signIn();
  assert.deepEqual(sc.requests, []);
  assert.equal(stub.progresses.length, 0);
  assert.equal(stub.inputBoxes.length, 0);
  assert.deepEqual(stub.messages, ['error: The config file /c.json is not valid (line 2, column 5). Fix it or move it away; nothing is written to it until then.']);
  assert.match(logLines[0]!, /^error Sign-in failed: \/c\.json is not valid \(line 2, column 5\)/);
});

test('forwarding that throws counts as unreachable: paste-back', async () => {
  stub.remoteName = 'dev-container';
  stub.asExternalUri = async () => {
    throw new Error('no tunnel');
  };
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never).run(INPUT);
  await until(() => stub.progresses[0]?.messages.some((m) => m.includes('cannot load')) ?? false, 'the paste-back message');
  sc.finish!(oauth('dev'));
  await run;
  assert.ok(sc.logs.some((l) => /no tunnel/.test(l)));
});

test('the sidecar cancels the sign-in itself (shutting down for a restart): it is said, not silent', async () => {
  const sc = new FakeSidecar();
  const run = new SignInFlow(sc as never, WHO).run(INPUT);
  await until(() => sc.fail !== undefined, 'the request');
  sc.fail!({ code: -32800, message: 'The request was cancelled.', data: { kind: 'cancelled' } });
  await run;
  assert.equal(onlyNotification().open, false);
  assert.match(stub.messages[0]!, /^warning: The sign-in of profile "dev" was interrupted/);
  assert.match(logLines[0]!, /^warn Sign-in of "dev" failed: the sidecar stopped or restarted/);
});

test('a newer sign-in takes the place of a waiting one: the older ends silently, the newer carries on', async () => {
  const sc = new FakeSidecar();
  const flow = new SignInFlow(sc as never, WHO);
  const first = flow.run(INPUT);
  await until(() => sc.fail !== undefined, 'the first request');
  const failFirst = sc.fail!;
  sc.fail = undefined;
  const second = flow.run(INPUT);
  await until(() => sc.fail !== undefined, 'the second request');
  failFirst({ code: -32800, message: 'The request was cancelled.', data: { kind: 'cancelled' } });
  await first;
  assert.deepEqual(stub.messages, []);
  assert.equal(stub.progresses[0]!.open, false);
  assert.equal(stub.progresses[1]!.open, true);
  sc.finish!(oauth('dev'));
  await second;
  assert.deepEqual(stub.messages, ['info: Profile "dev" signed in as RAM user dev in account 1234567890123456.']);
});
