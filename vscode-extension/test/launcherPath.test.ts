import { EventEmitter, FakeEnvironmentCollection } from '../test-helpers/vscode';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Launcher } from '../src/launcher';
import { TerminalEnv } from '../src/terminalEnv';
import type { SidecarLaunch } from '../src/model/interpreter';
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

    sc.launch = { command: '/usr/bin/python3', args: ['-m', 'sidecar'], cwd: '/ext-0.1.0', pythonPath: '/ext-0.1.0/bundled/libs', source: 'path' };
    await launcher.write();
    const script = path.join(bin, 'aliyun-sidecar');
    assert.match(fs.readFileSync(script, 'utf8'), /ext-0\.1\.0\/bundled\/libs/);
    assert.equal(fs.statSync(script).mode & 0o777, 0o755);
    assert.equal(coll.vars.get('PATH'), `${bin}:…`);

    // An update moves the extension: the next start rewrites the same file with the new folder.
    sc.launch = { ...sc.launch, cwd: '/ext-0.2.0', pythonPath: '/ext-0.2.0/bundled/libs' };
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
