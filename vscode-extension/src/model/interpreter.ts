/**
 * Which Python runs the sidecar, from where, and what to tell the user when it cannot.
 *
 * Order: the `aliyun.sidecar.pythonPath` setting (a restricted setting: never read from an untrusted
 * folder), then the repository's own `.venv` when the extension runs from a checkout (the Extension
 * Development Host: `<repo>/vscode-extension` next to `<repo>/sidecar` and `<repo>/.venv`), else
 * `python3` (`python` on Windows) from PATH, which must have the `aliyun-sidecar` package installed.
 */

import * as path from 'node:path';
import { expandHome } from './settings';

export const MIN_PYTHON: readonly [number, number] = [3, 11];

export interface InterpreterInputs {
  /** `aliyun.sidecar.pythonPath` ('' or undefined = unset). */
  pythonPathSetting: string | undefined;
  extensionPath: string;
  platform: NodeJS.Platform;
  home: string;
  exists: (p: string) => boolean;
}

export interface SidecarLaunch {
  command: string;
  args: string[];
  /**
   * `python -m` puts the working directory first on sys.path, so it must be a folder we own: the
   * repository root in a checkout (that is where `sidecar/` lives), else the extension's folder
   * (which holds no `sidecar` package). Never a workspace folder: it could carry its own `sidecar/`.
   */
  cwd: string;
  /** Prepended to PYTHONPATH (the checkout's root), if any. */
  pythonPath: string | undefined;
  source: 'setting' | 'repoVenv' | 'path';
}

export const SIDECAR_ARGS = ['-m', 'sidecar'];

/** The repository root when the extension runs from a checkout, else undefined. */
export function repoRootOf(extensionPath: string, exists: (p: string) => boolean): string | undefined {
  const root = path.dirname(extensionPath);
  return exists(path.join(root, 'sidecar', '__init__.py')) && exists(path.join(root, 'pyproject.toml')) ? root : undefined;
}

export function venvPython(root: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? path.join(root, '.venv', 'Scripts', 'python.exe') : path.join(root, '.venv', 'bin', 'python');
}

export function chooseLaunch(i: InterpreterInputs): SidecarLaunch {
  const root = repoRootOf(i.extensionPath, i.exists);
  const cwd = root ?? i.extensionPath;
  const setting = i.pythonPathSetting?.trim();
  if (setting) {
    return { command: expandHome(setting, i.home), args: SIDECAR_ARGS, cwd, pythonPath: root, source: 'setting' };
  }
  if (root && i.exists(venvPython(root, i.platform))) {
    return { command: venvPython(root, i.platform), args: SIDECAR_ARGS, cwd, pythonPath: root, source: 'repoVenv' };
  }
  return { command: i.platform === 'win32' ? 'python' : 'python3', args: SIDECAR_ARGS, cwd, pythonPath: root, source: 'path' };
}

/**
 * Run with the chosen interpreter before starting the sidecar: prints the version first (so even a
 * Python 2 or a 3.8 that fails later tells us its version), then whether `sidecar` is importable.
 */
export const PROBE_SCRIPT =
  "import sys; print('%d.%d.%d' % tuple(sys.version_info[:3])); sys.stdout.flush(); " +
  "import importlib.util as u; print('sidecar=' + ('yes' if u.find_spec('sidecar') and u.find_spec('sidecar.__main__') else 'no'))";

export interface ProbeOutcome {
  /** A spawn error (`ENOENT`, `EACCES`...) or a non-zero exit. */
  errorCode?: string;
  stdout: string;
  stderr: string;
}

export type ProbeVerdict =
  | { ok: true; version: string }
  | { ok: false; problem: 'notFound' | 'tooOld' | 'noSidecar' | 'failed'; message: string };

function parseVersion(text: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\s*$/m.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function probeVerdict(launch: SidecarLaunch, outcome: ProbeOutcome): ProbeVerdict {
  const who = launch.source === 'setting' ? `"${launch.command}" (aliyun.sidecar.pythonPath)` : `"${launch.command}"`;
  if (outcome.errorCode === 'ENOENT' || outcome.errorCode === 'EACCES') {
    return {
      ok: false,
      problem: 'notFound',
      message:
        `Python ${who} was not found or cannot be run. Install Python ${MIN_PYTHON.join('.')} or newer with the ` +
        'aliyun-sidecar package, or set "aliyun.sidecar.pythonPath" to such an interpreter.',
    };
  }
  const version = parseVersion(outcome.stdout);
  if (!version) {
    return {
      ok: false,
      problem: 'failed',
      message: `${who} did not run as Python (${(outcome.stderr || outcome.errorCode || 'no output').trim().split('\n').pop()}). Set "aliyun.sidecar.pythonPath" to a Python ${MIN_PYTHON.join('.')}+ interpreter.`,
    };
  }
  const [major, minor] = version;
  const text = version.join('.');
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    return {
      ok: false,
      problem: 'tooOld',
      message: `Python ${text} at ${who} is too old: the sidecar needs ${MIN_PYTHON.join('.')} or newer. Set "aliyun.sidecar.pythonPath" to a newer interpreter.`,
    };
  }
  if (!/^sidecar=yes\s*$/m.test(outcome.stdout)) {
    return {
      ok: false,
      problem: 'noSidecar',
      message:
        `Python ${text} at ${who} cannot import the "sidecar" package. Install aliyun-sidecar into it ` +
        '(from a checkout: python -m pip install -e <checkout>), or set "aliyun.sidecar.pythonPath" to an interpreter that has it.',
    };
  }
  return { ok: true, version: text };
}

/** The child's environment: ours, with the checkout's root first on PYTHONPATH when there is one. */
export function launchEnv(launch: SidecarLaunch, base: NodeJS.ProcessEnv, delimiter: string = path.delimiter): NodeJS.ProcessEnv {
  const env = { ...base };
  if (launch.pythonPath) env.PYTHONPATH = base.PYTHONPATH ? `${launch.pythonPath}${delimiter}${base.PYTHONPATH}` : launch.pythonPath;
  return env;
}
