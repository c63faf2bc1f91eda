import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  candidates,
  launchEnv,
  launchOf,
  sidecarArgs,
  noInterpreter,
  probeVerdict,
  settingsCommand,
  sidecarCode,
  type Candidate,
  type InterpreterInputs,
  type Tried,
} from '../src/model/interpreter';
import { findInterpreter, hasCommandLineTools, probePython, type ExecFile } from '../src/pythonProbe';

const EXT = '/repo/vscode-extension';
const repoFiles = new Set(['/repo/sidecar/__init__.py', '/repo/pyproject.toml', '/repo/.venv/bin/python']);
const inRepo = (p: string) => repoFiles.has(p);
const INSTALLED = '/h/.vscode/extensions/aliyun-sidecar.aliyun-sidecar-0.1.0';
const bundled = (p: string) => p === `${INSTALLED}/bundled/libs/sidecar/__init__.py`;

const inputs = (over: Partial<InterpreterInputs>): InterpreterInputs => ({
  pythonPathSetting: undefined,
  pythonExtension: undefined,
  workspaceTrusted: true,
  extensionPath: INSTALLED,
  platform: 'linux',
  home: '/h',
  exists: bundled,
  ...over,
});
const commands = (cs: Candidate[]) => cs.map((c) => [c.command, ...c.prefixArgs].join(' '));

test('installed VSIX: the bundled libraries go first on sys.path through argv (isolated mode), cwd is the extension folder', () => {
  assert.deepEqual(sidecarCode(INSTALLED, bundled), { pythonPath: `${INSTALLED}/bundled/libs`, cwd: INSTALLED, origin: 'bundled' });
  const l = launchOf(candidates(inputs({}))[0]!, sidecarCode(INSTALLED, bundled));
  const args = ['-I', '-X', 'utf8', '-c', l.args[4]!, `${INSTALLED}/bundled/libs`];
  assert.deepEqual(l, { command: 'python3', args, cwd: INSTALLED, pythonPath: `${INSTALLED}/bundled/libs`, source: 'path' });
  assert.deepEqual(sidecarArgs(undefined).slice(-1), ['']); // installed into the interpreter: no folder
});

test('order without a setting: the Python extension\'s selection, then python3 and python on PATH', () => {
  assert.deepEqual(commands(candidates(inputs({ pythonExtension: '/w/.venv/bin/python' }))), ['/w/.venv/bin/python', 'python3', 'python']);
  assert.deepEqual(commands(candidates(inputs({}))), ['python3', 'python']);
  // Each program once, even when the Python extension selected the one on PATH.
  assert.deepEqual(commands(candidates(inputs({ pythonExtension: 'python3' }))), ['python3', 'python']);
});

test('Windows: py -3, then python', () => {
  assert.deepEqual(commands(candidates(inputs({ platform: 'win32' }))), ['py -3', 'python']);
  const l = launchOf(candidates(inputs({ platform: 'win32' }))[0]!, sidecarCode(INSTALLED, bundled));
  assert.deepEqual(l.args, ['-3', ...sidecarArgs(`${INSTALLED}/bundled/libs`)]);
});

test("an untrusted workspace: the Python extension's selection (maybe the workspace's own venv) is not run", () => {
  assert.deepEqual(commands(candidates(inputs({ pythonExtension: '/w/.venv/bin/python', workspaceTrusted: false }))), ['python3', 'python']);
});

test('the setting wins alone, with ~ expanded', () => {
  const cs = candidates(inputs({ pythonPathSetting: ' ~/py/bin/python3.12 ', pythonExtension: '/w/python' }));
  assert.deepEqual(cs, [{ command: '/h/py/bin/python3.12', prefixArgs: [], source: 'setting' }]);
  assert.deepEqual(commands(candidates(inputs({ pythonPathSetting: '  ' }))), ['python3', 'python']);
});

test("from a checkout: the repo root on PYTHONPATH, the repo's .venv first", () => {
  assert.deepEqual(sidecarCode(EXT, inRepo), { pythonPath: '/repo', cwd: '/repo', origin: 'checkout' });
  const cs = candidates(inputs({ extensionPath: EXT, exists: inRepo, pythonExtension: '/x/python' }));
  assert.deepEqual(commands(cs), ['/repo/.venv/bin/python', '/x/python', 'python3', 'python']);
  assert.equal(cs[0]!.source, 'repoVenv');
  const files = new Set(['/r/sidecar/__init__.py', '/r/pyproject.toml', '/r/.venv/Scripts/python.exe']);
  assert.equal(candidates(inputs({ extensionPath: '/r/ext', platform: 'win32', exists: (p) => files.has(p) }))[0]!.command, '/r/.venv/Scripts/python.exe');
  // The checkout's live code wins over a bundle package.sh left in it (a stale copy).
  const both = (p: string) => inRepo(p) || p === `${EXT}/bundled/libs/sidecar/__init__.py`;
  assert.equal(sidecarCode(EXT, both).origin, 'checkout');
});

test('the environment is passed unchanged: under -I the code cannot come from PYTHONPATH', () => {
  assert.deepEqual(launchEnv({ PYTHONPATH: '/other', A: '1' }), { PYTHONPATH: '/other', A: '1' });
});

const py: Candidate = { command: '/usr/bin/python3', prefixArgs: [], source: 'path' };

test('verdicts: missing, too old, no sidecar, ok', () => {
  const missing = probeVerdict(py, { errorCode: 'ENOENT', stdout: '', stderr: '' });
  assert.deepEqual(missing, { ok: false, problem: 'notFound', detail: '"/usr/bin/python3" was not found' });
  const old = probeVerdict(py, { errorCode: 'exit', stdout: '3.9.18\n', stderr: 'ModuleNotFoundError' });
  assert.deepEqual(old, { ok: false, problem: 'tooOld', detail: '"/usr/bin/python3" is Python 3.9.18' });
  assert.ok(!probeVerdict(py, { errorCode: 'exit', stdout: '2.7.18\n', stderr: '' }).ok);
  const noPkg = probeVerdict({ ...py, source: 'setting' }, { stdout: '3.12.1\nsidecar=no\n', stderr: '' });
  assert.deepEqual(noPkg, { ok: false, problem: 'noSidecar', detail: '"/usr/bin/python3" (aliyun.sidecar.pythonPath) (Python 3.12.1) cannot import the sidecar' });
  assert.deepEqual(probeVerdict(py, { stdout: '3.11.7\nsidecar=yes\n', stderr: '' }), { ok: true, version: '3.11.7' });
  const exe = probeVerdict(py, { stdout: '3.13.1\nsidecar=yes\nexe=C:\\Python313\\python.exe\r\n', stderr: '' });
  assert.deepEqual(exe, { ok: true, version: '3.13.1', executable: 'C:\\Python313\\python.exe' });
  const garbage = probeVerdict(py, { errorCode: 'exit', stdout: '', stderr: 'exec format error' });
  assert.ok(!garbage.ok && garbage.problem === 'failed' && /exec format error/.test(garbage.detail));
});

const BUNDLE = sidecarCode(INSTALLED, bundled);
const tried = (c: Partial<Candidate>, verdict: Tried['verdict']): Tried => ({ candidate: { ...py, ...c }, verdict });

test('no Python at all: one sentence, one button (Install Python, or Select Interpreter with the Python extension); no checkout advice', () => {
  const none = [
    tried({ command: 'python3' }, { ok: false, problem: 'notFound', detail: '"python3" was not found' }),
    tried({ command: 'python' }, { ok: false, problem: 'notFound', detail: '"python" was not found' }),
  ];
  const v = noInterpreter(none, BUNDLE, false);
  assert.match(v.message, /needs Python 3\.11 or newer, and none was found \(tried "python3", "python"\)/);
  assert.deepEqual(v.fix, { title: 'Install Python', kind: 'openDocs', arg: 'https://www.python.org/downloads/' });
  assert.doesNotMatch(v.message, /checkout|pip install/);
  assert.deepEqual(noInterpreter(none, BUNDLE, true).fix, { title: 'Select Interpreter', kind: 'runCommand', arg: 'python.setInterpreter' });
});

test('only old Pythons: says which, same one button', () => {
  const old = [tried({ command: 'python3' }, { ok: false, problem: 'tooOld', detail: '"python3" is Python 3.9.2' })];
  const v = noInterpreter(old, BUNDLE, false);
  assert.match(v.message, /none was usable \("python3" is Python 3\.9\.2\)/);
  assert.equal(v.fix.title, 'Install Python');
});

test('a bad setting: Open Settings (of the setting); a broken bundle: reinstall', () => {
  const v = noInterpreter([tried({ source: 'setting' }, { ok: false, problem: 'notFound', detail: '"x" (aliyun.sidecar.pythonPath) was not found' })], BUNDLE, true);
  assert.deepEqual(v.fix, { title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.sidecar.pythonPath' });
  const broken = noInterpreter([tried({}, { ok: false, problem: 'noSidecar', detail: 'd' })], BUNDLE, false);
  assert.match(broken.message, /Reinstall the extension/);
});

test('"Open Settings" opens the Remote settings in a remote window', () => {
  assert.equal(settingsCommand(undefined), 'workbench.action.openSettings');
  assert.equal(settingsCommand('ssh-remote'), 'workbench.action.openRemoteSettings');
});

test('the probe really runs: a missing program, a fake old Python, and the first usable candidate wins', { skip: process.platform === 'win32' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-probe-'));
  const code = { pythonPath: undefined, cwd: dir, origin: 'installed' as const };
  try {
    const missing = await probePython({ ...py, command: path.join(dir, 'nope') }, code);
    assert.ok(!missing.ok && missing.problem === 'notFound');
    const fake = path.join(dir, 'python3.9');
    fs.writeFileSync(fake, '#!/bin/sh\necho 3.9.2\nexit 1\n', { mode: 0o755 });
    const old = await probePython({ ...py, command: fake }, code);
    assert.ok(!old.ok && old.problem === 'tooOld', JSON.stringify(old));
    const good = path.join(dir, 'python3.13');
    fs.writeFileSync(good, '#!/bin/sh\necho 3.13.0\necho sidecar=yes\n', { mode: 0o755 });
    const after = path.join(dir, 'never-run');
    const found = await findInterpreter(
      [{ ...py, command: path.join(dir, 'nope') }, { ...py, command: fake }, { ...py, command: good }, { ...py, command: after }],
      code,
    );
    assert.ok(found.ok && found.launch.command === good && found.version === '3.13.0');
    assert.equal(found.launch.executable, undefined); // the fake printed no exe= line
    assert.deepEqual(found.tried.map((t) => path.basename(t.candidate.command)), ['nope', 'python3.9', 'python3.13']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the repo's .venv runs the sidecar from the checkout's code on PYTHONPATH", async (t) => {
  const repo = path.resolve(__dirname, '..', '..', '..');
  const python = path.join(repo, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) return t.skip(`no ${python}`);
  const v = await probePython({ command: python, prefixArgs: [], source: 'repoVenv' }, sidecarCode(path.join(repo, 'vscode-extension'), fs.existsSync));
  assert.ok(v.ok && v.executable === python, JSON.stringify(v));
});

test('macOS without the Command Line Tools: /usr/bin/python3 (the stub) is not probed, others are', () => {
  const files = new Set([`${INSTALLED}/bundled/libs/sidecar/__init__.py`, '/usr/bin/python3', '/opt/py/bin/python']);
  const mac = (over: Partial<InterpreterInputs>) => inputs({ platform: 'darwin', exists: (p) => files.has(p), pathEnv: '/usr/bin:/opt/py/bin', ...over });
  assert.deepEqual(commands(candidates(mac({ commandLineTools: false }))), ['python']);
  assert.deepEqual(commands(candidates(mac({ commandLineTools: false, pythonExtension: '/usr/bin/python3' }))), ['python']);
  assert.deepEqual(commands(candidates(mac({ commandLineTools: true }))), ['python3', 'python']);
  // The user's own choice is run as chosen; Linux is not affected.
  assert.deepEqual(commands(candidates(mac({ commandLineTools: false, pythonPathSetting: '/usr/bin/python3' }))), ['/usr/bin/python3']);
  assert.deepEqual(commands(candidates(inputs({ exists: (p) => files.has(p), pathEnv: '/usr/bin', commandLineTools: false }))), ['python3', 'python']);
});

test('hasCommandLineTools asks `xcode-select -p` (injected answers)', async () => {
  const asked: string[] = [];
  assert.equal(await hasCommandLineTools(async (c, a) => (asked.push([c, ...a].join(' ')), true)), true);
  assert.equal(await hasCommandLineTools(async () => false), false);
  assert.deepEqual(asked, ['xcode-select -p']);
});

test('a spawn that throws synchronously (pythonPath at a .cmd on Windows: EINVAL) is a verdict, not a rejection', async () => {
  const throwing: ExecFile = () => {
    throw Object.assign(new Error('spawn EINVAL'), { code: 'EINVAL' });
  };
  const c: Candidate = { command: 'C:\\tools\\python.cmd', prefixArgs: [], source: 'setting' };
  const found = await findInterpreter([c], { pythonPath: undefined, cwd: '/', origin: 'installed' }, {}, throwing);
  assert.ok(!found.ok);
  const v = found.tried[0]!.verdict;
  assert.ok(!v.ok && v.problem === 'failed' && /EINVAL/.test(v.detail), JSON.stringify(v));
  assert.match(noInterpreter(found.tried, { pythonPath: undefined, cwd: '/', origin: 'installed' }, false).message, /python\.cmd.*EINVAL/);
});

test('a Python too old for -I says so (it prints no version under -I)', () => {
  const v = probeVerdict(py, { errorCode: 'exit', stdout: '', stderr: 'Unknown option: -I\nusage: python2 [option] ...' });
  assert.ok(!v.ok && v.problem === 'tooOld', JSON.stringify(v));
});
