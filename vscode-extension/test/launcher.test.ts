import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cmdQuote, launcherFiles, launcherTarget, shQuote } from '../src/model/launcher';

test('POSIX launcher: sh, the code first on PYTHONPATH (keeping the user\'s), exec with every argument', () => {
  const [f, ...rest] = launcherFiles({ command: '/usr/bin/python3', args: ['-m', 'sidecar'], pythonPath: '/ext/bundled/libs' }, 'linux');
  assert.equal(rest.length, 0);
  assert.equal(f!.name, 'aliyun-sidecar');
  assert.equal(f!.mode, 0o755);
  const lines = f!.text.split('\n');
  assert.equal(lines[0], '#!/bin/sh');
  assert.ok(lines.includes("PYTHONPATH='/ext/bundled/libs'${PYTHONPATH:+:$PYTHONPATH}"));
  assert.ok(lines.includes('export PYTHONPATH'));
  assert.ok(lines.includes(`exec '/usr/bin/python3' '-m' 'sidecar' "$@"`));
  // An interpreter that has the sidecar itself: no PYTHONPATH line.
  assert.doesNotMatch(launcherFiles({ command: 'python3', args: ['-m', 'sidecar'], pythonPath: undefined }, 'darwin')[0]!.text, /PYTHONPATH/);
});

test('Windows launcher: a .cmd with py -3, quoted paths, %% for %', () => {
  const [f] = launcherFiles({ command: 'py', args: ['-3', '-m', 'sidecar'], pythonPath: 'C:\\Users\\A B\\ext%x\\bundled\\libs' }, 'win32');
  assert.equal(f!.name, 'aliyun-sidecar.cmd');
  const lines = f!.text.split('\r\n');
  assert.equal(lines[0], '@echo off');
  assert.ok(lines.includes('if defined PYTHONPATH (set "PYTHONPATH=C:\\Users\\A B\\ext%%x\\bundled\\libs;%PYTHONPATH%") else (set "PYTHONPATH=C:\\Users\\A B\\ext%%x\\bundled\\libs")'));
  assert.ok(lines.includes('py -3 -m sidecar %*'));
  assert.equal(cmdQuote('C:\\Program Files (x86)\\Python\\python.exe'), '"C:\\Program Files (x86)\\Python\\python.exe"');
  assert.equal(shQuote("it's"), `'it'\\''s'`);
});

test("the launcher runs the interpreter's absolute path when the probe gave it (not `py -3` or PATH's python3)", () => {
  const launch = { command: 'py', args: ['-3', '-m', 'sidecar'], cwd: 'C:\\e', pythonPath: 'C:\\e\\libs', source: 'path' as const };
  assert.deepEqual(launcherTarget(launch), { command: 'py', args: ['-3', '-m', 'sidecar'], pythonPath: 'C:\\e\\libs' });
  assert.deepEqual(launcherTarget({ ...launch, executable: 'C:\\Python313\\python.exe' }), {
    command: 'C:\\Python313\\python.exe',
    args: ['-m', 'sidecar'],
    pythonPath: 'C:\\e\\libs',
  });
});

test('the launcher runs the sidecar: `aliyun-sidecar signin --help` from a folder with a space and a quote', { skip: process.platform === 'win32' }, (t) => {
  const repo = path.resolve(__dirname, '..', '..', '..');
  const python = path.join(repo, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) return t.skip(`no ${python}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aliyun launcher's-"));
  try {
    // The code comes only from PYTHONPATH: a copy of the sidecar package in a folder of its own.
    const libs = path.join(dir, 'lib s');
    fs.cpSync(path.join(repo, 'sidecar'), path.join(libs, 'sidecar'), { recursive: true });
    for (const f of launcherFiles({ command: python, args: ['-m', 'sidecar'], pythonPath: libs }, 'linux')) {
      fs.writeFileSync(path.join(dir, f.name), f.text, { mode: f.mode });
    }
    const env = { ...process.env, PYTHONPATH: '/nonexistent-user-path' };
    const run = spawnSync(path.join(dir, 'aliyun-sidecar'), ['signin', '--help'], { cwd: os.tmpdir(), env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /usage: .*signin/);
    assert.match(run.stdout, /--profile/);
    const where = spawnSync(path.join(dir, 'aliyun-sidecar'), ['--help'], { cwd: os.tmpdir(), env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(where.status, 0, where.stderr);
    // And the sidecar imported is the copy in `libs`, the user's PYTHONPATH kept after it.
    const probe = fs.readFileSync(path.join(dir, 'aliyun-sidecar'), 'utf8').replace(`'-m' 'sidecar' "$@"`, `'-c' 'import sidecar, sys; print(sidecar.__file__); print(sys.path[1]); print(sys.path[2])'`);
    fs.writeFileSync(path.join(dir, 'probe'), probe, { mode: 0o755 });
    const shown = spawnSync(path.join(dir, 'probe'), [], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(shown.status, 0, shown.stderr);
    // sys.path[0] is the `-c` script's '' (with `-m`, the cwd): then our code, then the user's.
    const [file, first, second] = shown.stdout.trim().split('\n');
    assert.equal(file, path.join(libs, 'sidecar', '__init__.py'));
    assert.deepEqual([first, second], [libs, '/nonexistent-user-path']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
