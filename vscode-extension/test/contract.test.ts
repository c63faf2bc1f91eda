/**
 * The contract (docs/contract.md) against the REAL sidecar: `<repo>/.venv/bin/python -m sidecar`,
 * driven over stdio with vscode-jsonrpc (the library under vscode-languageclient), HOME and the config
 * file in a temp folder. The sign-in part plays the browser against the sidecar's emulator
 * (`python -m emulator --auto-approve --port 0`). Nothing leaves 127.0.0.1.
 *
 * Skipped (with the reason printed) only when `import sidecar.rpc.server` fails in the repo's venv.
 */

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import {
  CancellationTokenSource,
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Credentials, CredentialsEndpoint, Identity, ProfileEntry, ProfileList, SignInStarted, SiteInfo } from '../src/model/contract';
import { sitesFrom } from '../src/model/sites';
import { describeIdentity } from '../src/model/identityModel';

const REPO = path.resolve(__dirname, '..', '..', '..');
const PYTHON = path.join(REPO, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');

function skipReason(): string | undefined {
  if (!fs.existsSync(PYTHON)) return `no ${PYTHON} (run the README set-up)`;
  const r = spawnSync(PYTHON, ['-c', 'import sidecar.rpc.server'], { cwd: REPO, encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) return `the sidecar server is not importable yet: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return undefined;
}

const SKIP = skipReason();
if (SKIP) console.log(`# contract.test: SKIPPED: ${SKIP}`);

/** The environment of the child processes: a temp HOME, and no profile selection from ours. */
function childEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, USERPROFILE: home };
  for (const k of Object.keys(env)) if (/^(ALIBABA_CLOUD_|ALIBABACLOUD_|ALICLOUD_)/.test(k)) delete env[k];
  return env;
}

interface Notification {
  method: string;
  params: unknown;
}

/** One sidecar process and a JSON-RPC connection to it, with every notification recorded. */
class SidecarProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly connection: MessageConnection;
  readonly notifications: Notification[] = [];
  /** Requests the server sent to us (window/showDocument, ...). */
  readonly serverRequests: Notification[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];

  constructor(home: string) {
    this.child = spawn(PYTHON, ['-m', 'sidecar'], { cwd: REPO, env: childEnv(home), stdio: 'pipe' });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (process.env.CONTRACT_DEBUG) process.stderr.write(d);
    });
    this.connection = createMessageConnection(new StreamMessageReader(this.child.stdout), new StreamMessageWriter(this.child.stdin));
    this.connection.onNotification((method: string, params: unknown) => {
      this.notifications.push({ method, params });
      for (const w of this.waiters.splice(0)) w();
    });
    this.connection.onRequest((method: string, params: unknown) => {
      this.serverRequests.push({ method, params });
      if (method === 'window/showDocument') return { success: false };
      if (method === 'workspace/configuration') return [];
      return null;
    });
    this.connection.listen();
  }

  /** The site table of the last initialize result (sites.ts). */
  sites: SiteInfo[] = [];

  async initialize(initializationOptions: object): Promise<void> {
    const result = (await this.connection.sendRequest('initialize', {
      processId: process.pid,
      clientInfo: { name: 'contract.test' },
      rootUri: null,
      capabilities: { window: { showDocument: { support: true }, workDoneProgress: true } },
      initializationOptions,
    })) as { capabilities: object };
    assert.equal(typeof result.capabilities, 'object');
    this.sites = sitesFrom(result);
    await this.connection.sendNotification('initialized', {});
  }

  request<R>(method: string, params: object = {}): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  /** The first notification of `method` (after index `from`) that satisfies `accept`. */
  async waitFor<T>(method: string, accept: (p: T) => boolean = () => true, timeoutMs = 15000, from = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.notifications.slice(from).find((n) => n.method === method && accept(n.params as T));
      if (hit) return hit.params as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${method} within ${timeoutMs} ms; got: ${this.notifications.map((n) => n.method).join(', ') || 'nothing'}\nstderr:\n${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** shutdown + exit, and the process must end by itself (exit code 0). */
  async shutdown(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => {
      if (this.child.exitCode !== null) resolve(this.child.exitCode);
      this.child.once('exit', (code) => resolve(code));
    });
    await this.connection.sendRequest('shutdown');
    await this.connection.sendNotification('exit');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000))]);
    this.connection.dispose();
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error('the sidecar did not exit within 5 s of exit');
    }
    return code;
  }

  kill(): void {
    this.connection.dispose();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** The rejection of a request, as the JSON-RPC error object. */
async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string; data: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; message: string; data: Record<string, unknown> };
  }
  throw new Error('the request succeeded; an error was expected');
}

const nowS = (): number => Math.floor(Date.now() / 1000);

/** A config file as the Alibaba Cloud CLI writes it: an AK profile and OAuth profiles in each state. */
function cliConfig(now: number): object {
  const oauthBase = { mode: 'OAuth', oauth_site_type: 'CN', output_format: 'json', language: 'en' };
  return {
    current: 'ak1',
    profiles: [
      { name: 'ak1', mode: 'AK', access_key_id: 'LTAIexample', access_key_secret: 'example-secret', region_id: 'cn-hangzhou', output_format: 'json', language: 'en' },
      {
        ...oauthBase,
        name: 'oauth1',
        region_id: 'cn-shanghai',
        access_key_id: 'STS.example',
        access_key_secret: 'sts-secret',
        sts_token: 'sts-token',
        sts_expiration: now + 3600,
        oauth_access_token: 'access-token',
        oauth_refresh_token: 'refresh-token',
        oauth_access_token_expire: now + 7200,
        oauth_refresh_token_expire: now + 86400 * 30,
      },
      {
        ...oauthBase,
        name: 'stale',
        oauth_site_type: 'INTL',
        region_id: 'ap-southeast-1',
        access_key_id: '',
        access_key_secret: '',
        sts_token: '',
        sts_expiration: 0,
        oauth_access_token: 'old-access',
        oauth_refresh_token: 'old-refresh',
        oauth_access_token_expire: now - 7200,
        oauth_refresh_token_expire: now - 3600,
      },
    ],
    meta_path: '',
  };
}

describe('contract: profiles, errors, shutdown', { skip: SKIP }, () => {
  let home: string;
  let configPath: string;
  let sc: SidecarProcess;

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-contract-'));
    configPath = path.join(home, 'cfg', 'config.json');
    fs.mkdirSync(path.dirname(configPath)); // the folder exists, the file not yet (as after `mkdir ~/.aliyun`)
    sc = new SidecarProcess(home);
    // keepFresh off and dead endpoints: the fake tokens below must never be sent anywhere.
    await sc.initialize({
      configPath,
      keepFresh: false,
      logLevel: 'debug',
      endpoints: { signinBase: 'http://127.0.0.1:9', oauthBase: 'http://127.0.0.1:9', stsEndpoint: 'http://127.0.0.1:9' },
    });
  });

  after(() => {
    sc?.kill();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  test('initialize sends the site table, with the endpoints in effect', { timeout: 30000 }, async () => {
    assert.deepEqual(
      sc.sites.map((s) => s.name),
      ['CN', 'INTL'],
    );
    assert.ok(sc.sites.every((s) => s.label.length > 0 && s.signinBase === 'http://127.0.0.1:9' && s.oauthBase === 'http://127.0.0.1:9'));
  });

  test('listProfiles on an absent config file: no profiles', { timeout: 30000 }, async () => {
    const list = await sc.request<ProfileList>('aliyun/listProfiles');
    // No file yet: no profiles (a first write creates the file the CLI would, with its "default").
    assert.deepEqual(list.profiles, []);
    assert.equal(list.configPath, configPath);
    assert.equal(typeof list.current, 'string');
  });

  test('listProfiles reads what the CLI wrote: fields and states', { timeout: 30000 }, async () => {
    const now = nowS();
    const from = sc.notifications.length;
    fs.writeFileSync(configPath, JSON.stringify(cliConfig(now), null, '\t'));
    const list = await sc.request<ProfileList>('aliyun/listProfiles');
    assert.equal(list.current, 'ak1');
    const byName = Object.fromEntries(list.profiles.map((p) => [p.name, p]));
    assert.deepEqual(Object.keys(byName), ['ak1', 'oauth1', 'stale']);
    assert.deepEqual(byName.ak1, {
      name: 'ak1',
      mode: 'AK',
      site: null,
      region: 'cn-hangzhou',
      language: 'en',
      isCurrent: true,
      state: 'notOAuth',
      stsExpiresAt: null,
      accessTokenExpiresAt: null,
      refreshTokenExpiresAt: null,
      hasRefreshToken: false,
    });
    assert.deepEqual(byName.oauth1, {
      name: 'oauth1',
      mode: 'OAuth',
      site: 'CN',
      region: 'cn-shanghai',
      language: 'en',
      isCurrent: false,
      state: 'valid',
      stsExpiresAt: now + 3600,
      accessTokenExpiresAt: now + 7200,
      refreshTokenExpiresAt: now + 86400 * 30,
      hasRefreshToken: true,
    });
    // Its recorded refresh-token expiry has passed: a hint only (the CLI leaves it stale), so the
    // sidecar still calls it renewable; only the service's refusal makes it signInRequired.
    assert.equal(byName.stale!.state, 'refreshable');
    assert.equal(byName.stale!.stateReason, 'refreshTokenMayHaveExpired');
    assert.equal(byName.stale!.site, 'INTL');
    // Nothing in a list is a secret.
    const text = JSON.stringify(list);
    for (const secret of ['example-secret', 'sts-secret', 'sts-token', 'access-token', 'refresh-token', 'old-refresh']) {
      assert.ok(!text.includes(secret), `listProfiles leaked ${secret}`);
    }
    // The sidecar watches the file: another process's write is announced.
    const changed = await sc.waitFor<ProfileList>('aliyun/profilesChanged', (l) => l.profiles.length === 3, 15000, from);
    assert.equal(changed.current, 'ak1');
  });

  test('switchProfile sets current', { timeout: 30000 }, async () => {
    const list = await sc.request<ProfileList>('aliyun/switchProfile', { name: 'oauth1' });
    assert.equal(list.current, 'oauth1');
    assert.ok(list.profiles.find((p) => p.name === 'oauth1')!.isCurrent);
    assert.equal(JSON.parse(fs.readFileSync(configPath, 'utf8')).current, 'oauth1');
  });

  test('unknown profile → profileNotFound with the existing names', { timeout: 30000 }, async () => {
    const e = await rpcError(sc.request('aliyun/switchProfile', { name: 'nope' }));
    assert.equal(e.code, -32010);
    assert.equal(e.data.kind, 'profileNotFound');
    assert.deepEqual(e.data.existing, ['ak1', 'oauth1', 'stale']);
  });

  test('bad params → -32602 invalidParams with the field', { timeout: 30000 }, async () => {
    const e = await rpcError(sc.request('aliyun/switchProfile', { name: 42 }));
    assert.equal(e.code, -32602);
    assert.equal(e.data.kind, 'invalidParams');
    assert.equal(e.data.field, 'name');
    const missing = await rpcError(sc.request('aliyun/deleteProfile', {}));
    assert.equal(missing.code, -32602);
    assert.equal(missing.data.kind, 'invalidParams');
  });

  test('deleteProfile removes the profile; a deleted current passes to the first remaining', { timeout: 30000 }, async () => {
    const list = await sc.request<ProfileList>('aliyun/deleteProfile', { name: 'oauth1' });
    assert.deepEqual(list.profiles.map((p) => p.name), ['ak1', 'stale']);
    assert.equal(list.current, 'ak1');
    const onDisk = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    assert.ok(!JSON.stringify(onDisk).includes('refresh-token'), 'the tokens are gone from the file');
    assert.deepEqual(onDisk.profiles[0], (cliConfig(0) as { profiles: object[] }).profiles[0], 'other profiles are kept as they were');
  });

  test('shutdown and exit end the process', { timeout: 30000 }, async () => {
    assert.equal(await sc.shutdown(), 0);
  });
});

describe('contract: browser sign-in against the emulator', { skip: SKIP }, () => {
  let home: string;
  let configPath: string;
  let emulator: ChildProcessWithoutNullStreams | undefined;
  let emulatorUrl: string;
  let sc: SidecarProcess;

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-contract-signin-'));
    configPath = path.join(home, '.aliyun', 'config.json');
    emulator = spawn(PYTHON, ['-m', 'emulator', '--auto-approve', '--port', '0'], { cwd: REPO, env: childEnv(home), stdio: 'pipe' });
    let emulatorErr = '';
    emulator.stderr.on('data', (d: Buffer) => (emulatorErr += d.toString()));
    emulatorUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the emulator printed no URL within 20 s\n${emulatorErr}`)), 20000);
      readline.createInterface({ input: emulator!.stdout }).once('line', (line: string) => {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { url: string }).url);
        } catch {
          reject(new Error(`unexpected emulator line: ${line}`));
        }
      });
      emulator!.once('exit', (code) => reject(new Error(`the emulator exited (${code})\n${emulatorErr}`)));
    });
    assert.match(emulatorUrl, /^http:\/\/127\.0\.0\.1:\d+/);
    const first = 40000 + Math.floor(Math.random() * 20000);
    sc = new SidecarProcess(home);
    await sc.initialize({
      configPath,
      keepFresh: false,
      endpoints: { signinBase: emulatorUrl, oauthBase: emulatorUrl, stsEndpoint: emulatorUrl },
      callbackPorts: [first, first + 4],
    });
  });

  after(() => {
    sc?.kill();
    if (emulator && emulator.exitCode === null) emulator.kill('SIGKILL');
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  test('signIn: signInStarted, the browser round trip, a valid profile, profilesChanged, credentials', { timeout: 60000 }, async () => {
    const from = sc.notifications.length;
    const pending = sc.request<ProfileEntry>('aliyun/signIn', { profile: 'dev', site: 'CN', region: 'cn-hangzhou', language: 'en', openBrowser: false });
    const started = await sc.waitFor<SignInStarted>('aliyun/signInStarted', (s) => s.profile === 'dev', 15000, from);
    assert.ok(started.url.startsWith(emulatorUrl), started.url);
    assert.match(started.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.doesNotMatch(started.url, /code_verifier/);

    // Play the browser: auto-approve redirects to the loopback callback.
    const page = await fetch(started.url, { redirect: 'follow' });
    assert.ok(page.ok, `the browser ended on ${page.status} ${page.url}`);
    await page.arrayBuffer();

    const entry = await pending;
    assert.equal(entry.name, 'dev');
    assert.equal(entry.mode, 'OAuth');
    assert.equal(entry.site, 'CN');
    assert.equal(entry.region, 'cn-hangzhou');
    assert.equal(entry.language, 'en');
    assert.equal(entry.state, 'valid');
    assert.equal(entry.isCurrent, true);
    assert.ok(entry.stsExpiresAt! > nowS(), 'fresh STS credentials');
    // openBrowser: false → the sidecar never asks the editor to open anything.
    assert.deepEqual(sc.serverRequests.filter((r) => r.method === 'window/showDocument'), []);

    const changed = await sc.waitFor<ProfileList>('aliyun/profilesChanged', (l) => l.profiles.some((p) => p.name === 'dev' && p.state === 'valid'), 15000, from);
    assert.equal(changed.current, 'dev');
    assert.ok(!JSON.stringify(sc.notifications).includes('"code='), 'no authorization code in a notification');

    const creds = await sc.request<Credentials>('aliyun/getCredentials', { profile: 'dev' });
    assert.equal(creds.profile, 'dev');
    for (const field of ['accessKeyId', 'accessKeySecret', 'securityToken', 'expiration'] as const) {
      assert.equal(typeof creds[field], 'string');
      assert.ok(creds[field].length > 0, field);
    }
    assert.match(creds.expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(creds.expiresAt > nowS());

    // The file is the one the CLI reads.
    const onDisk = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { current: string; profiles: Array<Record<string, unknown>> };
    assert.equal(onDisk.current, 'dev');
    assert.equal(onDisk.profiles.find((p) => p.name === 'dev')!.mode, 'OAuth');
  });

  test('whoAmI: the signed-in profile\'s identity, in the shape the status bar words', { timeout: 30000 }, async (t) => {
    let identity: Identity;
    try {
      identity = await sc.request<Identity>('aliyun/whoAmI', { profile: 'dev' });
    } catch (e) {
      if ((e as { code?: number }).code === -32601) return t.skip('aliyun/whoAmI is not wired in this sidecar');
      throw e;
    }
    assert.equal(identity.profile, 'dev');
    for (const field of ['accountId', 'identityType', 'arn', 'principalId'] as const) assert.equal(typeof identity[field], 'string', field);
    assert.match(identity.arn, /^acs:ram::\d+:/);
    assert.ok(!/^(RAMUser|AssumedRoleUser|Account) acs:/.test(describeIdentity(identity)), describeIdentity(identity));
    assert.match(describeIdentity(identity), new RegExp(`account ${identity.accountId}`));
    if (process.env.CONTRACT_DEBUG) console.log(`# whoAmI: ${describeIdentity(identity)} (${identity.arn})`);
    const unknown = await rpcError(sc.request('aliyun/whoAmI', { profile: 'nope' }));
    assert.equal(unknown.data.kind, 'profileNotFound');
  });

  test('a sign-in is cancelled by $/cancelRequest (what the extension sends)', { timeout: 60000 }, async () => {
    const from = sc.notifications.length;
    const source = new CancellationTokenSource();
    const pending = sc.connection.sendRequest('aliyun/signIn', { profile: 'other', openBrowser: false }, source.token);
    await sc.waitFor<SignInStarted>('aliyun/signInStarted', (s) => s.profile === 'other', 15000, from);
    source.cancel();
    const e = await rpcError(pending);
    assert.equal(e.code, -32800);
    // vscode-jsonrpc may answer a cancelled request itself; the sidecar's answer carries data.kind.
    if (e.data) assert.equal(e.data.kind, 'cancelled');
    const list = await sc.request<ProfileList>('aliyun/listProfiles');
    assert.ok(!list.profiles.some((p) => p.name === 'other'), 'a cancelled sign-in writes nothing');
  });

  test('credentialsEndpoint gives the terminal variables', { timeout: 30000 }, async (t) => {
    let ep: CredentialsEndpoint;
    try {
      ep = await sc.request<CredentialsEndpoint>('aliyun/credentialsEndpoint');
    } catch (e) {
      // The extension works without it (terminals then get no credentials variables and read the file).
      if ((e as { code?: number }).code === -32601) return t.skip('aliyun/credentialsEndpoint is not implemented by the sidecar yet');
      throw e;
    }
    assert.match(ep.uri, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(ep.environment.ALIBABA_CLOUD_CREDENTIALS_URI, ep.uri);
    assert.equal(ep.environment.ALIBABA_CLOUD_CLI_PROFILE_DISABLED, 'true');
  });

  test('shutdown and exit end the process', { timeout: 30000 }, async () => {
    assert.equal(await sc.shutdown(), 0);
  });
});
