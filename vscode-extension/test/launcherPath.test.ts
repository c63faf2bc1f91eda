import { EventEmitter, FakeEnvironmentCollection } from '../test-helpers/vscode';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Launcher, unsafeFolder } from '../src/launcher';
import { TerminalEnv } from '../src/terminalEnv';
import { sidecarArgs, type SidecarLaunch } from '../src/model/interpreter';
import type { SidecarStatus } from '../src/model/statusModel';

test('each start rewrites the launcher in global storage; terminals get its folder first on PATH once it exists', async () => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-storage-'));
  try {
    const started = new EventEmitter<void>();
    const sc = {
      status: { kind: 'running' } as SidecarStatus,
      profiles: undefined,
      onDidChange: new EventEmitter<void>().event,
      onDidStart: started.event,
      launch: undefined as SidecarLaunch | undefined,
      request: async () => Promise.reject(new Error('none')),
    };
    const coll = new FakeEnvironmentCollection();
    const logs: string[] = [];
    let onPath = true;
    let terminals: TerminalEnv | undefined;
    const bin = path.join(storage, 'bin');
    const launcher = new Launcher(bin, sc, (m) => logs.push(m), 'linux', () => terminals?.apply());
    terminals = new TerminalEnv(coll as never, sc, () => false, () => undefined, () => (onPath ? launcher.pathEntry : undefined), ':');
    assert.equal(coll.vars.get('PATH'), undefined); // nothing written yet

    sc.launch = { command: '/usr/bin/python3', args: sidecarArgs('/ext-0.1.0/bundled/libs'), cwd: '/ext-0.1.0', pythonPath: '/ext-0.1.0/bundled/libs', source: 'path' };
    await launcher.write();
    const script = path.join(bin, 'aliyun-sidecar');
    assert.match(fs.readFileSync(script, 'utf8'), /ext-0\.1\.0\/bundled\/libs/);
    assert.equal(fs.statSync(script).mode & 0o777, 0o755);
    assert.equal(coll.vars.get('PATH'), `${bin}:…`);

    // An update moves the extension: the next start rewrites the same file with the new folder.
    sc.launch = { ...sc.launch, args: sidecarArgs('/ext-0.2.0/bundled/libs'), cwd: '/ext-0.2.0', pythonPath: '/ext-0.2.0/bundled/libs' };
    started.fire();
    await new Promise((r) => setTimeout(r, 50));
    assert.match(fs.readFileSync(script, 'utf8'), /ext-0\.2\.0\/bundled\/libs/);
    assert.deepEqual(fs.readdirSync(bin), ['aliyun-sidecar']); // no temp file left
    assert.equal(logs.filter((l) => l.startsWith('Launcher for terminals')).length, 1);

    onPath = false; // aliyun.terminal.addLauncherToPath off
    terminals.apply();
    assert.equal(coll.vars.get('PATH'), undefined);
    launcher.dispose();
    terminals.dispose();
  } finally {
    fs.rmSync(storage, { recursive: true, force: true });
  }
});

const launchAt = (libs: string): SidecarLaunch => ({ command: '/usr/bin/python3', args: sidecarArgs(libs), cwd: '/e', pythonPath: libs, source: 'path' });
const sidecarWith = (launch: SidecarLaunch) => ({ launch, onDidStart: new EventEmitter<void>().event });

/** Runs `body` with the process umask set to `mask` (restored after). */
async function underUmask<T>(mask: number, body: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await body();
  } finally {
    process.umask(old);
  }
}

test('the launcher folder is created 0700 under umask 000 and 002 (it is first on PATH), the script 0755', { skip: process.platform === 'win32' }, async () => {
  for (const mask of [0o000, 0o002]) {
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-storage-'));
    try {
      const bin = path.join(storage, 'global', 'bin');
      const logs: string[] = [];
      const launcher = new Launcher(bin, sidecarWith(launchAt('/e/libs')), (m) => logs.push(m), 'linux');
      await underUmask(mask, () => launcher.write());
      assert.equal(fs.statSync(bin).mode & 0o777, 0o700, `umask ${mask.toString(8)}`);
      assert.equal(fs.statSync(path.join(storage, 'global')).mode & 0o777, 0o700);
      assert.equal(fs.statSync(path.join(bin, 'aliyun-sidecar')).mode & 0o777, 0o755);
      assert.equal(launcher.pathEntry, bin);
      launcher.dispose();
    } finally {
      fs.rmSync(storage, { recursive: true, force: true });
    }
  }
});

test('a launcher folder of ours that others can write in is made private and emptied (with one log line); another user\'s is refused', { skip: process.platform === 'win32' }, async () => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-storage-'));
  try {
    const bin = path.join(storage, 'bin');
    fs.mkdirSync(bin);
    fs.chmodSync(bin, 0o777);
    // What a group member could have planted while it was open: a command that shadows a real one,
    // and a link to a file of the user's (removed as a link, its target untouched).
    fs.writeFileSync(path.join(bin, 'git'), '#!/bin/sh\necho planted\n', { mode: 0o755 });
    const victim = path.join(storage, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(bin, 'ls'));
    const logs: string[] = [];
    const launcher = new Launcher(bin, sidecarWith(launchAt('/e/libs')), (m) => logs.push(m), 'linux');
    await launcher.write();
    assert.equal(fs.statSync(bin).mode & 0o777, 0o700);
    assert.deepEqual(fs.readdirSync(bin), ['aliyun-sidecar']);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
    assert.equal(launcher.pathEntry, bin);
    const notes = logs.filter((l) => l.startsWith('The launcher folder was not private'));
    assert.equal(notes.length, 1, logs.join('\n'));
    assert.match(notes[0]!, /mode 777\): made it private \(0700\) and removed the 2 entries/);
    // Another owner (injected uid: the test cannot chown): refused, with one line, and off PATH.
    const otherLogs: string[] = [];
    const other = new Launcher(bin, sidecarWith(launchAt('/e/libs')), (m) => otherLogs.push(m), 'linux', () => undefined, (process.getuid?.() ?? 0) + 1);
    await other.write();
    assert.equal(other.pathEntry, undefined);
    assert.equal(otherLogs.length, 1);
    assert.match(otherLogs[0]!, /refusing to use it: it belongs to another user/);
    assert.equal(unsafeFolder({ uid: 5, mode: 0o40755, isDirectory: () => true }, 5), undefined);
    assert.match(unsafeFolder({ uid: 5, mode: 0o40775, isDirectory: () => true }, 5)!, /mode 775/);
    assert.match(unsafeFolder({ uid: 5, mode: 0o120777, isDirectory: () => false }, 5)!, /not a folder/);
  } finally {
    fs.rmSync(storage, { recursive: true, force: true });
  }
});

test('a symlink planted at the temp path is neither followed nor written through', { skip: process.platform === 'win32' }, async () => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'aliyun-storage-'));
  try {
    const bin = path.join(storage, 'bin');
    fs.mkdirSync(bin, { mode: 0o700 });
    const victim = path.join(storage, 'victim');
    fs.writeFileSync(victim, 'precious\n', { mode: 0o600 });
    fs.symlinkSync(victim, path.join(bin, `aliyun-sidecar.${process.pid}.tmp`));
    const logs: string[] = [];
    const launcher = new Launcher(bin, sidecarWith(launchAt('/e/libs')), (m) => logs.push(m), 'linux');
    await launcher.write();
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
    assert.equal(fs.statSync(victim).mode & 0o777, 0o600);
    assert.ok(fs.lstatSync(path.join(bin, 'aliyun-sidecar')).isFile());
    assert.deepEqual(fs.readdirSync(bin), ['aliyun-sidecar']);
    // And the log names the process_command to copy, quoted.
    assert.ok(logs.some((l) => l.startsWith('An External profile\'s "process_command" (JSON): ')), logs.join('\n'));
  } finally {
    fs.rmSync(storage, { recursive: true, force: true });
  }
});
