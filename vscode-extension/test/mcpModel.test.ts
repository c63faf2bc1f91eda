import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mcpArgs, mcpLabel, mcpServerPlans, mcpSettings, mcpStartDecision, mcpVersion, plansKey, serverName, type McpPlanInputs } from '../src/model/mcpModel';
import { sidecarArgs } from '../src/model/interpreter';
import { MCP_ENDPOINTS, SIDECAR_ENDPOINTS, endpointsOption } from '../src/model/settings';
import { list, oauth, ak } from '../test-helpers/fixtures';

const getter = (values: Record<string, unknown>) => (k: string) => values[k];
const launch = { command: '/usr/bin/python3', args: sidecarArgs('/ext/bundled/libs'), cwd: '/ext' };

const inputs = (over: Partial<McpPlanInputs> = {}): McpPlanInputs => ({
  settings: { enabled: true, servers: ['core'], mode: 'read-only' },
  profile: 'dev',
  launch,
  configPath: undefined,
  endpoints: undefined,
  ...over,
});

test('settings: defaults are enabled, ["core"], read-only; anything unusable reads as the safe default', () => {
  assert.deepEqual(mcpSettings(getter({})), { enabled: true, servers: ['core'], mode: 'read-only', ignored: [] });
  assert.deepEqual(mcpSettings(getter({ 'mcp.enabled': false, 'mcp.mode': 'full', 'mcp.servers': [] })), { enabled: false, servers: [], mode: 'full', ignored: [] });
  assert.equal(mcpSettings(getter({ 'mcp.mode': 'FULL' })).mode, 'read-only');
  assert.equal(mcpSettings(getter({ 'mcp.enabled': 'no' })).enabled, true);
  assert.deepEqual(mcpSettings(getter({ 'mcp.servers': 'core' })).servers, ['core']);
});

test('settings: server entries are core, a name or an https URL; the rest is left out with a reason that does not repeat the entry', () => {
  const s = mcpSettings(
    getter({
      'mcp.servers': [
        ' core ',
        'ecs-tools',
        'core',
        'https://mcp.example.test/accounts/1/custom/x',
        'http://mcp.example.test/x',
        'http://127.0.0.1:9000/mcp',
        '--mode=full',
        '',
        7,
        'a\nb',
        'https://',
        'https://mcp.example.test/x?token=secret',
        'https://user:pw@mcp.example.test/x',
      ],
    }),
  );
  assert.deepEqual(s.servers, ['core', 'ecs-tools', 'https://mcp.example.test/accounts/1/custom/x', 'http://127.0.0.1:9000/mcp']);
  assert.deepEqual(s.ignored, [
    'aliyun.mcp.servers[4]: a server URL must be https://',
    'aliyun.mcp.servers[6]: it starts with "-"',
    'aliyun.mcp.servers[7]: empty',
    'aliyun.mcp.servers[8]: not a string',
    'aliyun.mcp.servers[9]: it holds a control character',
    'aliyun.mcp.servers[10]: not a valid URL',
    'aliyun.mcp.servers[11]: a server URL must not carry user information or a query',
    'aliyun.mcp.servers[12]: a server URL must not carry user information or a query',
  ]);
  assert.ok(!s.ignored.join(' ').includes('mcp.example.test') && !s.ignored.join(' ').includes('secret'));
});

test('labels: the profile and the access mode; a custom server by name, a URL by host and path', () => {
  assert.equal(mcpLabel('core', 'dev', 'read-only'), 'Alibaba Cloud (dev, read-only)');
  assert.equal(mcpLabel('core', 'prod', 'full'), 'Alibaba Cloud (prod, full access)');
  assert.equal(mcpLabel('ecs-tools', 'dev', 'full'), 'Alibaba Cloud ecs-tools (dev, full access)');
  assert.equal(mcpLabel('https://mcp.example.test/a/b/', 'dev', 'read-only'), 'Alibaba Cloud mcp.example.test/a/b (dev, read-only)');
  assert.equal(mcpLabel('core', undefined, 'read-only'), 'Alibaba Cloud (not signed in, read-only)');
  assert.equal(serverName('core'), undefined);
});

test('args: the sidecar launch, then --config-path and --endpoints when set, then mcp --profile --mode --server', () => {
  const endpoints = endpointsOption(getter({ 'endpoints.oauthBase': 'http://127.0.0.1:9001', 'endpoints.openapiMcpEndpoint': 'https://mcp.example.test' }), [
    ...SIDECAR_ENDPOINTS,
    ...MCP_ENDPOINTS,
  ]);
  const args = mcpArgs({ launch, configPath: '/home/u/c.json', endpoints, server: 'core', profile: 'dev', mode: 'full' });
  assert.deepEqual(args, [
    ...launch.args,
    '--config-path',
    '/home/u/c.json',
    '--endpoints',
    '{"oauthBase":"http://127.0.0.1:9001","openapiMcpEndpoint":"https://mcp.example.test"}',
    'mcp',
    '--profile',
    'dev',
    '--mode',
    'full',
    '--server',
    'core',
  ]);
  // The isolation of every Python we start comes first (-I -X utf8 -c BOOT <folder>).
  assert.deepEqual(args.slice(0, 3), ['-I', '-X', 'utf8']);
  // Nothing set: no --config-path, no --endpoints (also for an empty object); no profile: no --profile.
  assert.deepEqual(mcpArgs({ launch, configPath: undefined, endpoints: {}, server: 'x', profile: undefined, mode: 'read-only' }), [
    ...launch.args,
    'mcp',
    '--mode',
    'read-only',
    '--server',
    'x',
  ]);
});

test('plans: one per server, with the launch command and folder; none when disabled or before a launch is known', () => {
  const plans = mcpServerPlans(inputs({ settings: { enabled: true, servers: ['core', 'ecs-tools'], mode: 'read-only' } }));
  assert.deepEqual(
    plans.map((p) => [p.label, p.command, p.cwd, p.server, p.profile]),
    [
      ['Alibaba Cloud (dev, read-only)', '/usr/bin/python3', '/ext', 'core', 'dev'],
      ['Alibaba Cloud ecs-tools (dev, read-only)', '/usr/bin/python3', '/ext', 'ecs-tools', 'dev'],
    ],
  );
  assert.equal(plans[0]!.version, mcpVersion(plans[0]!.command, plans[0]!.args, plans[0]!.cwd));
  assert.notEqual(plans[0]!.version, plans[1]!.version);
  assert.deepEqual(mcpServerPlans(inputs({ settings: { enabled: false, servers: ['core'], mode: 'read-only' } })), []);
  assert.deepEqual(mcpServerPlans(inputs({ launch: undefined })), []);
});

test('versions change with the profile, the mode, the server, the endpoints, the config path and the launch, and only then', () => {
  const base = mcpServerPlans(inputs());
  const key = plansKey(base);
  assert.equal(plansKey(mcpServerPlans(inputs())), key, 'equal inputs, equal definitions (a restarted sidecar with the same launch changes nothing)');
  assert.equal(plansKey(mcpServerPlans(inputs({ launch: { ...launch, args: [...launch.args] } }))), key);
  const changed: Partial<McpPlanInputs>[] = [
    { profile: 'prod' },
    { settings: { enabled: true, servers: ['core'], mode: 'full' } },
    { endpoints: { safePolicyEndpoint: 'https://p.example.test' } },
    { configPath: '/other.json' },
    { launch: { ...launch, command: '/opt/py/bin/python3' } },
    { launch: { ...launch, args: sidecarArgs('/ext2/bundled/libs') } },
    { launch: { ...launch, cwd: '/ext2' } },
  ];
  for (const over of changed) {
    const plans = mcpServerPlans(inputs(over));
    assert.notEqual(plansKey(plans), key, JSON.stringify(over));
    assert.notEqual(plans[0]!.version, base[0]!.version, JSON.stringify(over));
  }
  // Another server in the list: the set changes (VS Code is told), the Core server's own command
  // line does not, so neither does its version (VS Code would otherwise restart it for nothing).
  const more = mcpServerPlans(inputs({ settings: { enabled: true, servers: ['core', 'x'], mode: 'read-only' } }));
  assert.notEqual(plansKey(more), key);
  assert.equal(more[0]!.version, base[0]!.version);
});

test('start: a usable current profile starts; one that needs a browser sign-in signs in first', () => {
  const running = { kind: 'running' } as const;
  const label = 'Alibaba Cloud (dev, read-only)';
  assert.deepEqual(mcpStartDecision(label, running, list('dev', oauth('dev')), undefined), { kind: 'start' });
  assert.deepEqual(mcpStartDecision(label, running, list('dev', oauth('dev', { state: 'refreshable' })), undefined), { kind: 'start' });
  assert.deepEqual(mcpStartDecision(label, running, list('dev', ak('dev')), undefined), { kind: 'start' });
  const dead = oauth('dev', { state: 'signInRequired', stateReason: 'refreshTokenExpired' });
  const d = mcpStartDecision(label, running, list('dev', dead), undefined);
  assert.equal(d.kind, 'signIn');
  assert.equal(d.kind === 'signIn' && d.entry.name, 'dev');
});

test('start: refused, with one log line and a message that says how to sign in, when nothing can serve the profile', () => {
  const label = 'Alibaba Cloud (dev, read-only)';
  const down = mcpStartDecision(label, { kind: 'down', reason: 'x' }, undefined, undefined);
  assert.equal(down.kind, 'refuse');
  assert.ok(down.kind === 'refuse' && down.fix.kind === 'restart' && /not running/.test(down.log) && /Restart Sidecar/.test(down.message) && /sign in/i.test(down.message));
  const starting = mcpStartDecision(label, { kind: 'starting' }, undefined, undefined);
  assert.equal(starting.kind === 'refuse' && starting.fix.kind, 'restart');
  for (const profiles of [list('', oauth('dev')), list('gone', oauth('dev')), { current: '', configPath: '/c', profiles: [] }, undefined]) {
    const none = mcpStartDecision(label, { kind: 'running' }, profiles, undefined);
    assert.ok(none.kind === 'refuse' && none.fix.kind === 'signIn' && /Alibaba Cloud: Sign In/.test(none.message), JSON.stringify(profiles));
    assert.ok(none.kind === 'refuse' && !none.log.includes('\n'));
  }
  const broken = mcpStartDecision(label, { kind: 'running' }, list('dev', oauth('dev')), { kind: 'configCorrupt', message: 'm', path: '/c.json' });
  assert.ok(broken.kind === 'refuse' && broken.fix.kind === 'openConfig' && broken.log.includes('/c.json'));
});
