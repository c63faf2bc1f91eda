import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cmdQuote, cmdWord, commandWord, launcherFiles, launcherTarget, processCommand, shQuote } from '../src/model/launcher';
import { launchOf, sidecarArgs, sidecarCode, SIDECAR_BOOT } from '../src/model/interpreter';
import { probePython } from '../src/pythonProbe';

const repo = path.resolve(__dirname, '..', '..', '..');
const venvPython = path.join(repo, '.venv', 'bin', 'python');
const isolated = (libs: string) => sidecarArgs(libs);

test('POSIX launcher: sh, isolated Python with the code folder in argv, exec with every argument', () => {
  const [f, ...rest] = launcherFiles({ command: '/usr/bin/python3', args: isolated('/ext/bundled/libs') }, 'linux');
  assert.equal(rest.length, 0);
  assert.equal(f!.name, 'aliyun-sidecar');
  assert.equal(f!.mode, 0o755);
  const lines = f!.text.split('\n');
  assert.equal(lines[0], '#!/bin/sh');
  assert.doesNotMatch(f!.text, /PYTHONPATH/);
  assert.ok(lines.includes(`exec '/usr/bin/python3' '-I' '-X' 'utf8' '-c' ${shQuote(SIDECAR_BOOT)} '/ext/bundled/libs' "$@"`));
});

test('Windows launcher: a .cmd (ASCII, user-folder paths through %VAR%, %% for %) and an sh script for Git Bash', () => {
  const vars = { USERPROFILE: 'C:\\Users\\用户 A', LOCALAPPDATA: 'C:\\Users\\用户 A\\AppData\\Local' };
  const python = 'C:\\Users\\用户 A\\AppData\\Local\\Programs\\Python\\Python313\\python.exe';
  const libs = 'C:\\Users\\用户 A\\.vscode\\extensions\\ext%x\\bundled\\libs';
  const [cmd, sh, ...rest] = launcherFiles({ command: python, args: isolated(libs) }, 'win32', vars);
  assert.equal(rest.length, 0);
  assert.equal(cmd!.name, 'aliyun-sidecar.cmd');
  assert.match(cmd!.text, /^[\x00-\x7f]*$/); // cmd.exe reads batch files in the OEM code page
  const lines = cmd!.text.split('\r\n');
  assert.equal(lines[0], '@echo off');
  assert.ok(
    lines.includes(`"%LOCALAPPDATA%\\Programs\\Python\\Python313\\python.exe" -I -X utf8 -c "${SIDECAR_BOOT}" "%USERPROFILE%\\.vscode\\extensions\\ext%%x\\bundled\\libs" %*`),
    cmd!.text,
  );
  assert.doesNotMatch(cmd!.text, /chcp|PYTHONPATH|-m sidecar/);
  assert.equal(cmdQuote('C:\\Program Files (x86)\\Python\\python.exe'), '"C:\\Program Files (x86)\\Python\\python.exe"');
  assert.equal(cmdWord('c:\\users\\用户 a\\x', vars), '"%USERPROFILE%\\x"'); // Windows paths ignore case
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  // A non-ASCII path outside the user's folders: a code-page switch around the one line, restored.
  const [other] = launcherFiles({ command: 'D:\\工具\\python.exe', args: isolated(libs) }, 'win32', vars);
  const o = other!.text.split('\r\n');
  const run = o.findIndex((l) => l.startsWith('D:\\工具\\python.exe '));
  assert.deepEqual(o.slice(run - 1, run + 4), ['chcp 65001 >nul', o[run], 'set "ALIYUN_SIDECAR_RC=%ERRORLEVEL%"', 'chcp %ALIYUN_SIDECAR_CP% >nul', 'exit /b %ALIYUN_SIDECAR_RC%']);
  assert.match(o.slice(0, run).join('\n'), /^[\x00-\x7f]*$/); // everything cmd reads before the switch
  // Git Bash ignores PATHEXT: the extensionless sh script, with a C:/ path it can exec.
  assert.equal(sh!.name, 'aliyun-sidecar');
  assert.ok(sh!.text.includes(`exec 'C:/Users/用户 A/AppData/Local/Programs/Python/Python313/python.exe' '-I' '-X' 'utf8' '-c' `), sh!.text);
});

test("the launcher runs the interpreter's absolute path when the probe gave it (not `py -3` or PATH's python3)", () => {
  const launch = { command: 'py', args: ['-3', ...isolated('C:\\e\\libs')], cwd: 'C:\\e', pythonPath: 'C:\\e\\libs', source: 'path' as const };
  assert.deepEqual(launcherTarget(launch), { command: 'py', args: ['-3', ...isolated('C:\\e\\libs')] });
  assert.deepEqual(launcherTarget({ ...launch, executable: 'C:\\Python313\\python.exe' }), { command: 'C:\\Python313\\python.exe', args: isolated('C:\\e\\libs') });
});

test('the launcher runs the sidecar: `aliyun-sidecar signin --help` from a folder with a space and a quote', { skip: process.platform === 'win32' }, (t) => {
  if (!fs.existsSync(venvPython)) return t.skip(`no ${venvPython}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aliyun launcher's-"));
  try {
    // The code comes only from argv: a copy of the sidecar package in a folder of its own.
    const libs = path.join(dir, 'lib s');
    fs.cpSync(path.join(repo, 'sidecar'), path.join(libs, 'sidecar'), { recursive: true });
    for (const f of launcherFiles({ command: venvPython, args: isolated(libs) }, 'linux')) fs.writeFileSync(path.join(dir, f.name), f.text, { mode: f.mode });
    const run = spawnSync(path.join(dir, 'aliyun-sidecar'), ['signin', '--help'], { cwd: os.tmpdir(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /usage: .*signin/);
    assert.match(run.stdout, /--profile/);
    // And the sidecar imported is the copy in `libs`, first on sys.path.
    const text = fs.readFileSync(path.join(dir, 'aliyun-sidecar'), 'utf8');
    const probe = text.replace(shQuote(SIDECAR_BOOT), shQuote(SIDECAR_BOOT.replace(/import runpy.*$/, 'import sidecar; print(sidecar.__file__); print(sys.path[0])')));
    assert.notEqual(probe, text);
    fs.writeFileSync(path.join(dir, 'probe'), probe, { mode: 0o755 });
    const shown = spawnSync(path.join(dir, 'probe'), [], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(shown.status, 0, shown.stderr);
    assert.deepEqual(shown.stdout.trim().split('\n'), [path.join(libs, 'sidecar', '__init__.py'), libs]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A folder a cloned repository could be: each module writes a marker file when imported. */
function hostileFolder(markers: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-hostile-'));
  const plant = (rel: string, name: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), `open(${JSON.stringify(path.join(markers, name))}, 'w').close()\n`);
  };
  plant('sidecar/__init__.py', 'sidecar');
  plant('sidecar/__main__.py', 'sidecar-main');
  plant('argparse.py', 'argparse');
  plant('json.py', 'json');
  return dir;
}

test("started from a folder holding its own sidecar/, argparse.py and json.py (and on PYTHONPATH), none of them runs: launcher, probe, the extension's spawn", { skip: process.platform === 'win32' }, async (t) => {
  if (!fs.existsSync(venvPython)) return t.skip(`no ${venvPython}`);
  const markers = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-markers-'));
  const hostile = hostileFolder(markers);
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-bin-'));
  try {
    const env = { ...process.env, PYTHONPATH: hostile, PYTHONSAFEPATH: '' };
    // The dev layout (a checkout, its .venv) and the bundled one (the code in a folder of its own).
    const libs = path.join(bin, 'libs');
    fs.cpSync(path.join(repo, 'sidecar'), path.join(libs, 'sidecar'), { recursive: true });
    const layouts = [sidecarCode(path.join(repo, 'vscode-extension'), fs.existsSync), { pythonPath: libs, cwd: hostile, origin: 'bundled' as const }];
    for (const code of layouts) {
      // The probe, as the extension runs it (in the hostile folder, to be sure).
      const v = await probePython({ command: venvPython, prefixArgs: [], source: 'repoVenv' }, { ...code, cwd: hostile }, env);
      assert.ok(v.ok, JSON.stringify(v));
      // The sidecar, spawned as the extension builds it (stdin closed: it imports, then stops).
      const launch = launchOf({ command: venvPython, prefixArgs: [], source: 'repoVenv' }, code, venvPython);
      const spawned = spawnSync(launch.command, launch.args, { cwd: hostile, env, input: '', encoding: 'utf8', timeout: 60_000 });
      assert.equal(spawned.error, undefined);
      // The POSIX launcher, really run by sh in the hostile folder.
      for (const f of launcherFiles(launcherTarget(launch), 'linux')) fs.writeFileSync(path.join(bin, f.name), f.text, { mode: f.mode });
      const run = spawnSync(path.join(bin, 'aliyun-sidecar'), ['--help'], { cwd: hostile, env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /usage:/);
      assert.deepEqual(fs.readdirSync(markers), [], `${code.origin}: the folder's code ran`);
    }
    // The .cmd (not runnable here): isolated, the code in argv, nothing taken from PYTHONPATH or the cwd.
    const [cmd] = launcherFiles(launcherTarget(launchOf({ command: 'py', prefixArgs: ['-3'], source: 'path' }, { pythonPath: 'C:\\e\\libs', cwd: 'C:\\e', origin: 'bundled' })), 'win32');
    const line = cmd!.text.split('\r\n').find((l) => l.endsWith('%*'))!;
    assert.ok(line.startsWith(`py -3 -I -X utf8 -c "${SIDECAR_BOOT}" C:\\e\\libs`), line);
    assert.doesNotMatch(cmd!.text, /PYTHONPATH|-m sidecar/);
  } finally {
    for (const d of [markers, hostile, bin]) fs.rmSync(d, { recursive: true, force: true });
  }
});

test('a non-ASCII home (/tmp/…/用户): the probe reads the interpreter path right, the launcher runs, the .cmd is ASCII', { skip: process.platform === 'win32' }, async (t) => {
  if (!fs.existsSync(venvPython)) return t.skip(`no ${venvPython}`);
  const home = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-home-')), '用户');
  try {
    // A Python living under the home (as python.org's installer puts it), seeing the repo's libraries.
    const venv = path.join(home, 'py');
    const made = spawnSync(venvPython, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(made.status, 0, made.stderr);
    const site = spawnSync(venvPython, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).stdout.trim();
    const ownSite = spawnSync(path.join(venv, 'bin', 'python'), ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(path.join(ownSite, 'repo.pth'), `${site}\n`);
    const python = path.join(venv, 'bin', 'python');
    const libs = path.join(home, '.vscode', 'extensions', 'ext', 'bundled', 'libs');
    fs.cpSync(path.join(repo, 'sidecar'), path.join(libs, 'sidecar'), { recursive: true });
    // A pipe in the ANSI code page (Windows' default), simulated: the probe must still print UTF-8.
    const env = { ...process.env, PYTHONIOENCODING: 'gbk' };
    const v = await probePython({ command: python, prefixArgs: [], source: 'path' }, { pythonPath: libs, cwd: home, origin: 'bundled' }, env);
    assert.ok(v.ok && v.executable === python, JSON.stringify(v));
    const launch = launchOf({ command: python, prefixArgs: [], source: 'path' }, { pythonPath: libs, cwd: home, origin: 'bundled' }, v.executable);
    const bin = path.join(home, 'storage', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    for (const f of launcherFiles(launcherTarget(launch), 'linux')) fs.writeFileSync(path.join(bin, f.name), f.text, { mode: f.mode });
    const run = spawnSync(path.join(bin, 'aliyun-sidecar'), ['--help'], { cwd: home, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    // The .cmd for the same layout on Windows (C:\Users\用户): ASCII.
    const win = (p: string) => `C:\\Users\\用户${p.slice(home.length).replace(/\//g, '\\')}`;
    const [cmd] = launcherFiles({ command: win(python), args: isolated(win(libs)) }, 'win32', { USERPROFILE: 'C:\\Users\\用户' });
    assert.match(cmd!.text, /^[\x00-\x7f]*$/);
  } finally {
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
});

/** The Go CLI's reading of a command line: whitespace outside quotes splits; quotes are removed. */
function goSplit(line: string): string[] {
  const out: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = '';
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}

function shlexSplit(line: string): string[] {
  const r = spawnSync(fs.existsSync(venvPython) ? venvPython : 'python3', ['-I', '-c', 'import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))', line], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

test('process_command is quoted so that shlex and the Go CLI both split it back (paths with spaces)', () => {
  const cases: [string, NodeJS.Platform][] = [
    ['/Users/john/Library/Application Support/Code/User/globalStorage/aliyun-sidecar.aliyun-sidecar/bin/aliyun-sidecar', 'darwin'],
    ["/home/o'brien/.config/Code/User/globalStorage/x/bin/aliyun-sidecar", 'linux'],
    ['/home/me/.config/Code/bin/aliyun-sidecar', 'linux'],
    ['C:\\Users\\John Smith\\AppData\\Roaming\\Code\\User\\globalStorage\\aliyun-sidecar.aliyun-sidecar\\bin\\aliyun-sidecar.cmd', 'win32'],
  ];
  for (const [launcher, platform] of cases) {
    const line = processCommand(launcher, platform, 'dev');
    const argv = [launcher, 'credentials', '--profile', 'dev'];
    assert.deepEqual(shlexSplit(line), argv, line);
    assert.deepEqual(goSplit(line), argv, line);
  }
  assert.equal(commandWord('/usr/bin/x', 'linux'), '/usr/bin/x');
  assert.equal(processCommand('C:\\Users\\John Smith\\a.cmd', 'win32'), '"C:\\Users\\John Smith\\a.cmd" credentials --profile NAME');
});
