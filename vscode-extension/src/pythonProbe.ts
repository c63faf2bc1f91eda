/** Runs the interpreter probe (Node only, no vscode: the tests run it against the real venv). */

import { execFile } from 'node:child_process';
import { PROBE_SCRIPT, launchEnv, probeVerdict, type ProbeOutcome, type ProbeVerdict, type SidecarLaunch } from './model/interpreter';

export function runProbe(launch: SidecarLaunch, env: NodeJS.ProcessEnv = process.env, timeoutMs = 15000): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    execFile(
      launch.command,
      ['-c', PROBE_SCRIPT],
      { cwd: launch.cwd, env: launchEnv(launch, env), timeout: timeoutMs, windowsHide: true },
      (error, stdout, stderr) => {
        const code = error ? String((error as NodeJS.ErrnoException).code ?? 'exit') : undefined;
        resolve({ errorCode: code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export async function probePython(launch: SidecarLaunch, env: NodeJS.ProcessEnv = process.env): Promise<ProbeVerdict> {
  return probeVerdict(launch, await runProbe(launch, env));
}
