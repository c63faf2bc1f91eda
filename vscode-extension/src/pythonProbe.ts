/** Runs the interpreter probe (Node only, no vscode: the tests run it against real interpreters). */

import { execFile } from 'node:child_process';
import {
  launchOf,
  probeArgs,
  probeVerdict,
  type Candidate,
  type ProbeOutcome,
  type ProbeVerdict,
  type SidecarCode,
  type SidecarLaunch,
  type Tried,
} from './model/interpreter';

/** `execFile`'s shape, injectable: the tests stand in for a spawn that throws synchronously. */
export type ExecFile = (
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeout: number; windowsHide: boolean },
  callback: (error: Error | null, stdout: string | Buffer, stderr: string | Buffer) => void,
) => unknown;

function runProbe(c: Candidate, code: SidecarCode, env: NodeJS.ProcessEnv, exec: ExecFile, timeoutMs = 15000): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    try {
      exec(c.command, [...c.prefixArgs, ...probeArgs(code.pythonPath)], { cwd: code.cwd, env: { ...env }, timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
        const errorCode = error ? String((error as NodeJS.ErrnoException).code ?? 'exit') : undefined;
        resolve({ errorCode, stdout: String(stdout), stderr: String(stderr) });
      });
    } catch (e) {
      // Node refuses some programs before starting them, by throwing (a `pythonPath` naming a
      // `.bat`/`.cmd` on Windows: EINVAL): that is a verdict on this candidate, not a crash.
      const err = e as NodeJS.ErrnoException;
      resolve({ errorCode: String(err.code ?? 'spawn'), stdout: '', stderr: err.message ?? String(e) });
    }
  });
}

export async function probePython(c: Candidate, code: SidecarCode, env: NodeJS.ProcessEnv = process.env, exec: ExecFile = execFile as ExecFile): Promise<ProbeVerdict> {
  return probeVerdict(c, await runProbe(c, code, env, exec));
}

export type Found = { ok: true; launch: SidecarLaunch; version: string; tried: Tried[] } | { ok: false; tried: Tried[] };

/** Probes the candidates in order; the first that runs the sidecar wins (later ones are not run). */
export async function findInterpreter(list: Candidate[], code: SidecarCode, env: NodeJS.ProcessEnv = process.env, exec: ExecFile = execFile as ExecFile): Promise<Found> {
  const tried: Tried[] = [];
  for (const candidate of list) {
    const verdict = await probePython(candidate, code, env, exec);
    tried.push({ candidate, verdict });
    if (verdict.ok) return { ok: true, launch: launchOf(candidate, code, verdict.executable), version: verdict.version, tried };
  }
  return { ok: false, tried };
}

/** Runs a program to a yes/no (its exit status), injectable for the tests. */
export type Runner = (command: string, args: string[]) => Promise<boolean>;

const runToStatus: Runner = (command, args) =>
  new Promise((resolve) => {
    try {
      execFile(command, args, { timeout: 10000, windowsHide: true }, (error) => resolve(!error));
    } catch {
      resolve(false);
    }
  });

/**
 * macOS: whether the Command Line Tools are installed (`xcode-select -p` succeeds). Without them
 * `/usr/bin/python3` is a stub whose first run pops the "install developer tools" dialog.
 */
export function hasCommandLineTools(run: Runner = runToStatus): Promise<boolean> {
  return run('xcode-select', ['-p']);
}
