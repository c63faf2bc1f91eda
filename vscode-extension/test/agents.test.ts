import { EventEmitter, McpStdioServerDefinition, stub, window as fakeWindow } from '../test-helpers/vscode';
import { beforeEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MCP_PROVIDER_ID, registerAgents, type McpServers } from '../src/agents';
import type { ConfigError, ProfileEntry, ProfileList } from '../src/model/contract';
import { sidecarArgs, type SidecarLaunch } from '../src/model/interpreter';
import type { SidecarStatus } from '../src/model/statusModel';
import { list, oauth } from '../test-helpers/fixtures';

class FakeSidecar {
  status: SidecarStatus = { kind: 'running' };
  profiles: ProfileList | undefined = list('dev', oauth('dev'), oauth('prod'));
  launch: SidecarLaunch | undefined = { command: '/usr/bin/python3', args: sidecarArgs('/ext/bundled/libs'), cwd: '/ext', pythonPath: '/ext/bundled/libs', source: 'path' };
  configProblem: ConfigError | undefined;
  readonly changed = new EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  readonly setting = (k: string): unknown => stub.config[`aliyun.${k}`];
}

class FakeSignIn {
  readonly signedIn = new EventEmitter<ProfileEntry>();
  readonly onDidSignIn = this.signedIn.event;
  readonly calls: string[] = [];
  /** What the browser sign-in does: succeed (fires onDidSignIn before returning) or be cancelled. */
  outcome: 'signedIn' | 'cancelled' = 'signedIn';
  async signIn(): Promise<void> {
    this.calls.push('signIn');
  }
  async signInAgain(entry: ProfileEntry): Promise<void> {
    this.calls.push(`signInAgain ${entry.name}`);
    if (this.outcome === 'signedIn') this.signedIn.fire({ ...entry, state: 'valid' });
  }
}

const logs: string[] = [];
const log = { info: (m: string) => logs.push(`info: ${m}`), warn: (m: string) => logs.push(`warn: ${m}`) } as never;
const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) } as never;
const idle = (): Promise<void> => new Promise((r) => setImmediate(r));

function setUp(terminalVars: Record<string, string> = {}) {
  const sc = new FakeSidecar();
  const signIn = new FakeSignIn();
  const context = { subscriptions: [] as { dispose(): void }[] };
  registerAgents(context, sc as never, signIn as never, { credentialVariables: () => terminalVars }, log);
  const provider = stub.mcpProviders.get(MCP_PROVIDER_ID) as McpServers;
  let fired = 0;
  provider.onDidChangeMcpServerDefinitions(() => fired++);
  const defs = (): McpStdioServerDefinition[] => provider.provideMcpServerDefinitions() as unknown as McpStdioServerDefinition[];
  return { sc, signIn, context, provider, defs, fired: () => fired };
}

beforeEach(() => {
  stub.config = {};
  stub.messages = [];
  stub.events = [];
  stub.answer = () => undefined;
  logs.length = 0;
});

test('MCP: one stdio server for the current profile, run by the sidecar launch with the mcp subcommand', () => {
  const { defs, context } = setUp();
  const [d, ...rest] = defs();
  assert.equal(rest.length, 0);
  assert.equal(d!.label, 'Alibaba Cloud (dev, read-only)');
  assert.equal(d!.command, '/usr/bin/python3');
  assert.deepEqual(d!.args, [...sidecarArgs('/ext/bundled/libs'), 'mcp', '--profile', 'dev', '--mode', 'read-only', '--server', 'core']);
  assert.equal(d!.cwd?.fsPath, '/ext');
  assert.match(d!.version ?? '', /^[0-9a-f]{16}$/);
  assert.equal(stub.debugProviders.at(-1)?.type, '*');
  for (const s of context.subscriptions) s.dispose();
  assert.equal(stub.mcpProviders.size, 0);
  assert.equal(stub.debugProviders.length, 0);
});

test('MCP: a switch, the mode, the servers and the endpoints change the definitions and tell VS Code; an unchanged list does not', () => {
  const { sc, defs, fired, context } = setUp();
  const before = defs()[0]!;
  sc.changed.fire();
  assert.equal(fired(), 0);

  sc.profiles = list('prod', oauth('dev'), oauth('prod'));
  sc.changed.fire();
  assert.equal(fired(), 1);
  const after = defs()[0]!;
  assert.equal(after.label, 'Alibaba Cloud (prod, read-only)');
  assert.ok(after.args.includes('prod'));
  assert.notEqual(after.version, before.version);

  // The sidecar restarts (no list meanwhile): the servers stay as they are.
  sc.profiles = undefined;
  sc.status = { kind: 'starting' };
  sc.changed.fire();
  assert.equal(fired(), 1);
  assert.equal(defs()[0]!.label, 'Alibaba Cloud (prod, read-only)');

  stub.config['aliyun.mcp.mode'] = 'full';
  stub.config['aliyun.mcp.servers'] = ['core', 'ecs-tools'];
  stub.config['aliyun.endpoints.openapiMcpEndpoint'] = 'https://mcp.example.test';
  stub.configChanged.fire(['aliyun.mcp.mode', 'aliyun.mcp.servers', 'aliyun.endpoints.openapiMcpEndpoint']);
  assert.equal(fired(), 2);
  assert.deepEqual(
    defs().map((d) => d.label),
    ['Alibaba Cloud (prod, full access)', 'Alibaba Cloud ecs-tools (prod, full access)'],
  );
  assert.ok(defs()[0]!.args.includes('{"openapiMcpEndpoint":"https://mcp.example.test"}'));
  // Unrelated settings are not looked at.
  stub.configChanged.fire(['aliyun.sidecar.logLevel']);
  assert.equal(fired(), 2);

  stub.config['aliyun.mcp.enabled'] = false;
  stub.configChanged.fire(['aliyun.mcp.enabled']);
  assert.equal(fired(), 3);
  assert.deepEqual(defs(), []);
  for (const s of context.subscriptions) s.dispose();
});

test('MCP: nothing before the first profile list (no "not signed in" server flashing by at start-up)', () => {
  const sc = new FakeSidecar();
  sc.profiles = undefined;
  sc.status = { kind: 'starting' };
  const context = { subscriptions: [] as { dispose(): void }[] };
  registerAgents(context, sc as never, new FakeSignIn() as never, { credentialVariables: () => ({}) }, log);
  const provider = stub.mcpProviders.get(MCP_PROVIDER_ID) as McpServers;
  assert.deepEqual(provider.provideMcpServerDefinitions(), []);
  sc.status = { kind: 'running' };
  sc.profiles = list('', oauth('dev'));
  sc.changed.fire();
  assert.deepEqual(
    provider.provideMcpServerDefinitions().map((d) => d.label),
    ['Alibaba Cloud (not signed in, read-only)'],
  );
  for (const s of context.subscriptions) s.dispose();
});

test('MCP start: a usable profile starts as is; one that needs a browser sign-in signs in first, and a cancelled sign-in starts nothing', async () => {
  const { sc, signIn, provider, defs, context } = setUp();
  const d = defs()[0]!;
  assert.equal(await provider.resolveMcpServerDefinition(d as never, token), d);
  assert.deepEqual(signIn.calls, []);

  sc.profiles = list('dev', oauth('dev', { state: 'signInRequired' }));
  assert.equal(await provider.resolveMcpServerDefinition(d as never, token), d);
  assert.deepEqual(signIn.calls, ['signInAgain dev']);

  signIn.outcome = 'cancelled';
  assert.equal(await provider.resolveMcpServerDefinition(d as never, token), undefined);
  assert.equal(logs.filter((l) => /cancelled or failed/.test(l)).length, 1);
  assert.deepEqual(stub.messages, []);
  for (const s of context.subscriptions) s.dispose();
});

test('MCP start: two servers starting at once for an ended session share one sign-in', async () => {
  stub.config['aliyun.mcp.servers'] = ['core', 'ecs-tools'];
  const { sc, signIn, provider, defs, context } = setUp();
  sc.profiles = list('dev', oauth('dev', { state: 'signInRequired' }));
  const [a, b] = defs();
  const results = await Promise.all([provider.resolveMcpServerDefinition(a as never, token), provider.resolveMcpServerDefinition(b as never, token)]);
  assert.deepEqual(results, [a, b]);
  assert.deepEqual(signIn.calls, ['signInAgain dev']);
  for (const s of context.subscriptions) s.dispose();
});

test('MCP start: refusals of several servers at once show one message (never stacked), and log each', async () => {
  stub.config['aliyun.mcp.servers'] = ['core', 'ecs-tools'];
  const { sc, provider, defs, context } = setUp();
  sc.profiles = list('');
  let answer: (v: string | undefined) => void = () => undefined;
  const shown = new Promise<string | undefined>((r) => (answer = r));
  const [a, b] = defs();
  const show = fakeWindow.showWarningMessage;
  fakeWindow.showWarningMessage = (text: string) => {
    stub.messages.push(`warning: ${text}`);
    return shown;
  };
  try {
    await provider.resolveMcpServerDefinition(a as never, token);
    await provider.resolveMcpServerDefinition(b as never, token);
    assert.equal(stub.messages.length, 1);
    assert.equal(logs.filter((l) => l.startsWith('warn:')).length, 2);
    answer(undefined);
    await idle();
    await provider.resolveMcpServerDefinition(a as never, token);
    assert.equal(stub.messages.length, 2, 'once dismissed, the next refusal is said again');
  } finally {
    fakeWindow.showWarningMessage = show;
  }
  for (const s of context.subscriptions) s.dispose();
});

test('MCP start: no sidecar or no profile starts nothing, with one log line and a message whose button helps', async () => {
  const { sc, signIn, provider, defs, context } = setUp();
  const d = defs()[0]!;
  sc.status = { kind: 'down', reason: 'x' };
  sc.profiles = undefined;
  stub.answer = (_m, items) => items[0];
  assert.equal(await provider.resolveMcpServerDefinition(d as never, token), undefined);
  await idle();
  assert.equal(logs.filter((l) => l.startsWith('warn:')).length, 1);
  assert.equal(stub.messages.length, 1);
  assert.match(stub.messages[0]!, /^warning: .*not running/);
  assert.deepEqual(stub.events, ['command aliyun.restartSidecar']);

  sc.status = { kind: 'running' };
  sc.profiles = list('');
  assert.equal(await provider.resolveMcpServerDefinition(d as never, token), undefined);
  await idle();
  assert.match(stub.messages[1]!, /not signed in.*Alibaba Cloud: Sign In/);
  assert.deepEqual(signIn.calls, ['signIn']);
  for (const s of context.subscriptions) s.dispose();
});

test('MCP start: waits for a starting sidecar and its list instead of refusing', async () => {
  const { sc, provider, defs, context } = setUp();
  const d = defs()[0]!;
  sc.status = { kind: 'starting' };
  sc.profiles = undefined;
  const pending = provider.resolveMcpServerDefinition(d as never, token);
  sc.status = { kind: 'running' };
  sc.changed.fire(); // running, list not read yet: still waiting
  sc.profiles = list('dev', oauth('dev'));
  sc.changed.fire();
  assert.equal(await pending, d);
  for (const s of context.subscriptions) s.dispose();
});

test('debug sessions get the terminal credentials variables; a key of the configuration wins; nothing without an endpoint', async () => {
  const vars = { ALIBABA_CLOUD_CREDENTIALS_URI: 'http://127.0.0.1:1/s/credentials', ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true' };
  const { context } = setUp(vars);
  type Resolve = { resolveDebugConfigurationWithSubstitutedVariables(f: unknown, c: Record<string, unknown>): Record<string, unknown> };
  const provider = stub.debugProviders.at(-1)!.provider as Resolve;
  const out = provider.resolveDebugConfigurationWithSubstitutedVariables(undefined, { type: 'python', env: { ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'false' } });
  assert.deepEqual(out.env, { ALIBABA_CLOUD_CREDENTIALS_URI: vars.ALIBABA_CLOUD_CREDENTIALS_URI, ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'false' });
  for (const s of context.subscriptions) s.dispose();

  const none = setUp({});
  const plain = { type: 'node', env: { A: '1' } };
  const p2 = stub.debugProviders.at(-1)!.provider as Resolve;
  assert.equal(p2.resolveDebugConfigurationWithSubstitutedVariables(undefined, plain), plain);
  for (const s of none.context.subscriptions) s.dispose();
});
