import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chooseLaunch, launchEnv, probeVerdict, type SidecarLaunch } from '../src/model/interpreter';
import { probePython } from '../src/pythonProbe';

const EXT = '/repo/vscode-extension';
const repoFiles = new Set(['/repo/sidecar/__init__.py', '/repo/pyproject.toml', '/repo/.venv/bin/python']);
const inRepo = (p: string) => repoFiles.has(p);
const nowhere = () => false;

test('the setting wins, with ~ expanded; from a checkout cwd and PYTHONPATH are the repo', () => {
  const l = chooseLaunch({ pythonPathSetting: '~/py/bin/python3.12', extensionPath: EXT, platform: 'linux', home: '/h', exists: inRepo });
  assert.deepEqual(l, { command: '/h/py/bin/python3.12', args: ['-m', 'sidecar'], cwd: '/repo', pythonPath: '/repo', source: 'setting' });
});

test("from a checkout without the setting: the repo's .venv", () => {
  const l = chooseLaunch({ pythonPathSetting: '', extensionPath: EXT, platform: 'linux', home: '/h', exists: inRepo });
  assert.equal(l.command, '/repo/.venv/bin/python');
  assert.equal(l.source, 'repoVenv');
  assert.equal(l.cwd, '/repo');
});

test('Windows venv layout', () => {
  // path.join is POSIX on this machine; the decision (Scripts\\python.exe) is what is checked.
  const files = new Set(['/r/sidecar/__init__.py', '/r/pyproject.toml', '/r/.venv/Scripts/python.exe']);
  const l = chooseLaunch({ pythonPathSetting: undefined, extensionPath: '/r/ext', platform: 'win32', home: '/h', exists: (p) => files.has(p) });
  assert.equal(l.command, '/r/.venv/Scripts/python.exe');
});

test('installed VSIX: python3 from PATH, cwd = the extension folder (never a workspace folder)', () => {
  const l = chooseLaunch({ pythonPathSetting: '  ', extensionPath: '/h/.vscode/extensions/x', platform: 'linux', home: '/h', exists: nowhere });
  assert.deepEqual(l, { command: 'python3', args: ['-m', 'sidecar'], cwd: '/h/.vscode/extensions/x', pythonPath: undefined, source: 'path' });
  assert.equal(chooseLaunch({ pythonPathSetting: '', extensionPath: '/x', platform: 'win32', home: '/h', exists: nowhere }).command, 'python');
});

test('PYTHONPATH: the checkout first, an existing value kept', () => {
  const l: SidecarLaunch = { command: 'p', args: [], cwd: '/repo', pythonPath: '/repo', source: 'repoVenv' };
  assert.equal(launchEnv(l, { PYTHONPATH: '/other' }, ':').PYTHONPATH, '/repo:/other');
  assert.equal(launchEnv(l, {}, ':').PYTHONPATH, '/repo');
  assert.equal(launchEnv({ ...l, pythonPath: undefined }, { A: '1' }).PYTHONPATH, undefined);
});

const launch: SidecarLaunch = { command: '/usr/bin/python3', args: ['-m', 'sidecar'], cwd: '/', pythonPath: undefined, source: 'path' };

test('verdicts: missing, too old, no sidecar, ok', () => {
  const missing = probeVerdict(launch, { errorCode: 'ENOENT', stdout: '', stderr: '' });
  assert.ok(!missing.ok && missing.problem === 'notFound' && /aliyun\.sidecar\.pythonPath/.test(missing.message));
  const old = probeVerdict(launch, { errorCode: 'exit', stdout: '3.9.18\n', stderr: 'ModuleNotFoundError' });
  assert.ok(!old.ok && old.problem === 'tooOld' && /Python 3\.9\.18 .* too old: the sidecar needs 3\.11 or newer/.test(old.message));
  const py2 = probeVerdict(launch, { errorCode: 'exit', stdout: '2.7.18\n', stderr: '' });
  assert.ok(!py2.ok && py2.problem === 'tooOld');
  const noPkg = probeVerdict(launch, { stdout: '3.12.1\nsidecar=no\n', stderr: '' });
  assert.ok(!noPkg.ok && noPkg.problem === 'noSidecar' && /cannot import the "sidecar" package/.test(noPkg.message));
  assert.deepEqual(probeVerdict(launch, { stdout: '3.11.7\nsidecar=yes\n', stderr: '' }), { ok: true, version: '3.11.7' });
  const garbage = probeVerdict(launch, { errorCode: 'exit', stdout: '', stderr: 'exec format error' });
  assert.ok(!garbage.ok && garbage.problem === 'failed');
});

test('the probe really runs: a missing program and a fake old Python', { skip: process.platform === 'win32' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-probe-'));
  try {
    const missing = await probePython({ ...launch, command: path.join(dir, 'nope'), cwd: dir });
    assert.ok(!missing.ok && missing.problem === 'notFound');
    const fake = path.join(dir, 'python3.9');
    fs.writeFileSync(fake, '#!/bin/sh\necho 3.9.2\nexit 1\n', { mode: 0o755 });
    const old = await probePython({ ...launch, command: fake, cwd: dir });
    assert.ok(!old.ok && old.problem === 'tooOld', JSON.stringify(old));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the repo's .venv passes the version check", async (t) => {
  const repo = path.resolve(__dirname, '..', '..', '..');
  const python = path.join(repo, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) return t.skip(`no ${python}`);
  const v = await probePython({ command: python, args: ['-m', 'sidecar'], cwd: repo, pythonPath: repo, source: 'repoVenv' });
  // The sidecar's __main__ may not exist yet while it is written; the version is what matters here.
  assert.ok(v.ok || v.problem === 'noSidecar', JSON.stringify(v));
});
