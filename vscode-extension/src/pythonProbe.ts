/** Runs the interpreter probe (Node only, no vscode: the tests run it against real interpreters). */

import { execFile } from 'node:child_process';
import {
  PROBE_SCRIPT,
  launchEnv,
  launchOf,
  probeVerdict,
  type Candidate,
  type ProbeOutcome,
  type ProbeVerdict,
  type SidecarCode,
  type SidecarLaunch,
  type Tried,
} from './model/interpreter';

function runProbe(c: Candidate, code: SidecarCode, env: NodeJS.ProcessEnv = process.env, timeoutMs = 15000): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    execFile(
      c.command,
      [...c.prefixArgs, '-c', PROBE_SCRIPT],
      { cwd: code.cwd, env: launchEnv(code, env), timeout: timeoutMs, windowsHide: true },
      (error, stdout, stderr) => {
        const errorCode = error ? String((error as NodeJS.ErrnoException).code ?? 'exit') : undefined;
        resolve({ errorCode, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export async function probePython(c: Candidate, code: SidecarCode, env: NodeJS.ProcessEnv = process.env): Promise<ProbeVerdict> {
  return probeVerdict(c, await runProbe(c, code, env));
}

export type Found = { ok: true; launch: SidecarLaunch; version: string; tried: Tried[] } | { ok: false; tried: Tried[] };

/** Probes the candidates in order; the first that runs the sidecar wins (later ones are not run). */
export async function findInterpreter(list: Candidate[], code: SidecarCode, env: NodeJS.ProcessEnv = process.env): Promise<Found> {
  const tried: Tried[] = [];
  for (const candidate of list) {
    const verdict = await probePython(candidate, code, env);
    tried.push({ candidate, verdict });
    if (verdict.ok) return { ok: true, launch: launchOf(candidate, code, verdict.executable), version: verdict.version, tried };
  }
  return { ok: false, tried };
}
