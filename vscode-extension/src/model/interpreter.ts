/**
 * Which Python runs the sidecar, with which code, and what to tell the user when none can.
 *
 * The code: the sidecar and every library it imports ship inside the VSIX (`bundled/libs`, pure Python,
 * built by scripts/package.sh), so any Python 3.11+ runs it with nothing installed: the launch puts
 * `bundled/libs` first on `sys.path` (through argv: see PYTHON_FLAGS). From a checkout (the Extension
 * Development Host) the repository root is put there instead.
 *
 * The interpreter, in order (the first that runs as Python 3.11+ and can import the sidecar wins):
 * 1. the `aliyun.sidecar.pythonPath` setting (user/remote settings only: a restricted setting, never
 *    read from an untrusted folder); when set, it is the only candidate (the user chose it);
 * 2. the repository's `.venv`, only when running from a checkout;
 * 3. the interpreter the Python extension has selected, when that extension is installed and the
 *    workspace is trusted (its selection may be a workspace's own venv);
 * 4. `python3` then `python` from PATH; on Windows `py -3` (the launcher python.org installs) then
 *    `python`.
 */

import * as path from 'node:path';
import type { ErrorActionView } from './errorModel';
import { expandHome } from './settings';

const MIN_PYTHON: readonly [number, number] = [3, 11];

/** Where users get Python (the button of the "no Python" message). */
const INSTALL_PYTHON_URL = 'https://www.python.org/downloads/';
/** The Python extension's command that picks an interpreter. */
const SELECT_INTERPRETER_COMMAND = 'python.setInterpreter';

export type InterpreterSource = 'setting' | 'repoVenv' | 'pythonExtension' | 'path';

/** A program to try: `command ...prefixArgs <sidecarArgs>`. */
export interface Candidate {
  command: string;
  /** Arguments before ours (`py -3`). */
  prefixArgs: string[];
  source: InterpreterSource;
}

/** Where the sidecar's Python code comes from. */
export interface SidecarCode {
  /** Put first on `sys.path` (the bundle or the checkout); undefined: the interpreter must have it. */
  pythonPath: string | undefined;
  /**
   * `python -m` puts the working directory first on sys.path, so it must be a folder we own and that
   * holds no stray `sidecar` package: the extension folder (or the checkout's root). Never a
   * workspace folder: it could carry its own `sidecar/`.
   */
  cwd: string;
  origin: 'bundled' | 'checkout' | 'installed';
}

export interface InterpreterInputs {
  /** `aliyun.sidecar.pythonPath` ('' or undefined = unset). */
  pythonPathSetting: string | undefined;
  /** The executable of the Python extension's selected environment, if that extension gave one. */
  pythonExtension: string | undefined;
  workspaceTrusted: boolean;
  extensionPath: string;
  platform: NodeJS.Platform;
  home: string;
  exists: (p: string) => boolean;
  /** PATH, to see which `python3` a PATH candidate is (macOS: the system stub or not). */
  pathEnv?: string;
  /** macOS: whether `xcode-select -p` succeeded (pythonProbe.hasCommandLineTools); undefined elsewhere. */
  commandLineTools?: boolean;
}

/** macOS's own `/usr/bin/python3`: a stub that asks to install the developer tools until they are. */
const MAC_SYSTEM_PYTHONS = ['/usr/bin/python3', '/usr/bin/python'];

/** The file a bare command name runs (first PATH entry holding it), or undefined. */
function onPath(command: string, pathEnv: string, exists: (p: string) => boolean): string | undefined {
  for (const dir of pathEnv.split(':')) if (dir && exists(path.posix.join(dir, command))) return path.posix.join(dir, command);
  return undefined;
}

/** macOS without the Command Line Tools: never probe the system stub (its dialog is not ours to pop). */
function isMacStub(c: Candidate, i: InterpreterInputs): boolean {
  if (i.platform !== 'darwin' || i.commandLineTools !== false || c.source === 'setting') return false;
  const file = c.command.includes('/') ? c.command : onPath(c.command, i.pathEnv ?? '', i.exists);
  return file !== undefined && MAC_SYSTEM_PYTHONS.includes(file);
}

export interface SidecarLaunch {
  command: string;
  args: string[];
  cwd: string;
  /** Put first on `sys.path` by the arguments (the bundle or the checkout's root), if any. */
  pythonPath: string | undefined;
  source: InterpreterSource;
  /** The interpreter's absolute path (its `sys.executable`), when the probe said it. */
  executable?: string;
}

/**
 * How every Python we start is run. `-I` (isolated): neither the working folder nor PYTHONPATH nor
 * the user's site-packages go on `sys.path`, so a folder holding its own `sidecar/`, `json.py` or
 * `argparse.py` (a cloned repository a terminal sits in) never runs. `-X utf8`: what the child prints
 * (the probe's `exe=` line, the log on stderr) is UTF-8 whatever the code page; it is a flag and not
 * `PYTHONUTF8=1` because `-I` ignores every PYTHON* variable.
 */
export const PYTHON_FLAGS: readonly string[] = ['-I', '-X', 'utf8'];

/**
 * The code comes in through argv, not PYTHONPATH (ignored under `-I`): `python -I -c BOOT <folder>`
 * puts `<folder>` (the bundle or the checkout; '' = none, the interpreter has the sidecar) first on
 * `sys.path` and runs `sidecar` as `-m` would. Written with `'` only, no `"`, `%`, `/` or `\`, so
 * the same text is one word for sh, cmd.exe and Git Bash's argument conversion.
 */
const BOOT_PATH = "import sys; _p = sys.argv.pop(1); sys.path[:0] = [_p] if _p else []; del _p; ";
export const SIDECAR_BOOT = BOOT_PATH + "import runpy; runpy.run_module('sidecar', run_name='__main__', alter_sys=True)";

/** The arguments that run the sidecar with its code from `pythonPath` (after any `py -3`). */
export function sidecarArgs(pythonPath: string | undefined): string[] {
  return [...PYTHON_FLAGS, '-c', SIDECAR_BOOT, pythonPath ?? ''];
}

/** The sidecar's arguments with its code installed in the interpreter (no folder). */
export const SIDECAR_ARGS: readonly string[] = sidecarArgs(undefined);

function bundledLibs(extensionPath: string): string {
  return path.join(extensionPath, 'bundled', 'libs');
}

/** The repository root when the extension runs from a checkout, else undefined. */
function repoRootOf(extensionPath: string, exists: (p: string) => boolean): string | undefined {
  const root = path.dirname(extensionPath);
  return exists(path.join(root, 'sidecar', '__init__.py')) && exists(path.join(root, 'pyproject.toml')) ? root : undefined;
}

/**
 * The checkout's live code wins over a `bundled/` that scripts/package.sh left in it (a stale copy
 * would hide a developer's edits); an installed VSIX is never inside a checkout.
 */
export function sidecarCode(extensionPath: string, exists: (p: string) => boolean): SidecarCode {
  const root = repoRootOf(extensionPath, exists);
  if (root) return { pythonPath: root, cwd: root, origin: 'checkout' };
  const libs = bundledLibs(extensionPath);
  if (exists(path.join(libs, 'sidecar', '__init__.py'))) return { pythonPath: libs, cwd: extensionPath, origin: 'bundled' };
  return { pythonPath: undefined, cwd: extensionPath, origin: 'installed' };
}

function venvPython(root: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? path.join(root, '.venv', 'Scripts', 'python.exe') : path.join(root, '.venv', 'bin', 'python');
}

/** The programs on PATH, in the order tried. */
function pathCandidates(platform: NodeJS.Platform): Candidate[] {
  const names: [string, string[]][] = platform === 'win32' ? [['py', ['-3']], ['python', []]] : [['python3', []], ['python', []]];
  return names.map(([command, prefixArgs]) => ({ command, prefixArgs, source: 'path' }));
}

/** The interpreters to try, in order (see the module comment). */
export function candidates(i: InterpreterInputs): Candidate[] {
  const setting = i.pythonPathSetting?.trim();
  if (setting) return [{ command: expandHome(setting, i.home), prefixArgs: [], source: 'setting' }];
  const out: Candidate[] = [];
  const code = sidecarCode(i.extensionPath, i.exists);
  if (code.origin === 'checkout' && i.exists(venvPython(code.cwd, i.platform))) {
    out.push({ command: venvPython(code.cwd, i.platform), prefixArgs: [], source: 'repoVenv' });
  }
  if (i.pythonExtension && i.workspaceTrusted) out.push({ command: i.pythonExtension, prefixArgs: [], source: 'pythonExtension' });
  out.push(...pathCandidates(i.platform));
  // The Python extension may have selected the very python3 of PATH: try each program once.
  return out
    .filter((c, n) => out.findIndex((o) => o.command === c.command && o.prefixArgs.join(' ') === c.prefixArgs.join(' ')) === n)
    .filter((c) => !isMacStub(c, i));
}

export function launchOf(c: Candidate, code: SidecarCode, executable?: string): SidecarLaunch {
  const launch: SidecarLaunch = { command: c.command, args: [...c.prefixArgs, ...sidecarArgs(code.pythonPath)], cwd: code.cwd, pythonPath: code.pythonPath, source: c.source };
  if (executable) launch.executable = executable;
  return launch;
}

/** How a candidate is named in messages: `"py -3"`, `"/usr/bin/python3" (aliyun.sidecar.pythonPath)`. */
export function describeCandidate(c: Pick<Candidate, 'command' | 'prefixArgs' | 'source'>): string {
  const name = `"${[c.command, ...c.prefixArgs].join(' ')}"`;
  if (c.source === 'setting') return `${name} (aliyun.sidecar.pythonPath)`;
  if (c.source === 'pythonExtension') return `${name} (selected in the Python extension)`;
  return name;
}

/**
 * Run with the chosen interpreter before starting the sidecar: prints the version first (so even a
 * Python 2 or a 3.8 that fails later tells us its version), then whether `sidecar` is importable,
 * then the interpreter's absolute path (for the launcher: `python3` on PATH or `py -3` may name
 * another program in a terminal).
 */
export const PROBE_SCRIPT =
  BOOT_PATH +
  "print('%d.%d.%d' % tuple(sys.version_info[:3])); sys.stdout.flush(); " +
  "import importlib.util as u; print('sidecar=' + ('yes' if u.find_spec('sidecar') and u.find_spec('sidecar.__main__') else 'no')); " +
  "print('exe=' + (sys.executable or ''))";

/** The probe's arguments (after any `py -3`): isolated like the sidecar, the code's folder in argv. */
export function probeArgs(pythonPath: string | undefined): string[] {
  return [...PYTHON_FLAGS, '-c', PROBE_SCRIPT, pythonPath ?? ''];
}

export interface ProbeOutcome {
  /** A spawn error (`ENOENT`, `EACCES`...) or a non-zero exit. */
  errorCode?: string;
  stdout: string;
  stderr: string;
}

export type ProbeProblem = 'notFound' | 'tooOld' | 'noSidecar' | 'failed';

export type ProbeVerdict = { ok: true; version: string; executable?: string } | { ok: false; problem: ProbeProblem; detail: string };

function parseVersion(text: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\s*$/m.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** What one probe run says about one candidate; `detail` is a fragment for the log and the message. */
export function probeVerdict(c: Pick<Candidate, 'command' | 'prefixArgs' | 'source'>, outcome: ProbeOutcome): ProbeVerdict {
  const who = describeCandidate(c);
  if (outcome.errorCode === 'ENOENT' || outcome.errorCode === 'EACCES') {
    return { ok: false, problem: 'notFound', detail: `${who} was not found` };
  }
  const version = parseVersion(outcome.stdout);
  // Python 2 and 3.3 refuse `-I` before printing anything.
  if (!version && /unknown option:? -I\b/i.test(outcome.stderr)) {
    return { ok: false, problem: 'tooOld', detail: `${who} is older than Python 3.4 (no -I)` };
  }
  if (!version) {
    const why = (outcome.stderr || outcome.errorCode || 'no output').trim().split('\n').pop();
    return { ok: false, problem: 'failed', detail: `${who} did not run as Python (${why})` };
  }
  const [major, minor] = version;
  const text = version.join('.');
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    return { ok: false, problem: 'tooOld', detail: `${who} is Python ${text}` };
  }
  if (!/^sidecar=yes\s*$/m.test(outcome.stdout)) {
    return { ok: false, problem: 'noSidecar', detail: `${who} (Python ${text}) cannot import the sidecar` };
  }
  const exe = /^exe=(.+?)\s*$/m.exec(outcome.stdout)?.[1];
  return exe ? { ok: true, version: text, executable: exe } : { ok: true, version: text };
}

export interface Tried {
  candidate: Candidate;
  verdict: ProbeVerdict;
}

/** No interpreter can run the sidecar: one sentence and the one button that fixes it. */
export interface NoInterpreter {
  message: string;
  fix: ErrorActionView;
}

const need = `Python ${MIN_PYTHON.join('.')} or newer`;

/**
 * The message when every candidate failed. Never advice that needs a checkout: the VSIX carries the
 * sidecar, so what can be missing is a suitable Python (or, from a broken install, the bundle).
 */
export function noInterpreter(tried: Tried[], code: SidecarCode, pythonExtensionInstalled: boolean): NoInterpreter {
  const failures = tried.map((t) => (t.verdict.ok ? '' : t.verdict.detail)).filter(Boolean);
  const setting = tried.find((t) => t.candidate.source === 'setting');
  if (setting) {
    return {
      message: `The Alibaba Cloud extension needs ${need}: ${failures.join('; ')}. Change the setting, or clear it to use the Python found automatically.`,
      fix: { title: 'Open Settings', kind: 'openSettings', arg: 'aliyun.sidecar.pythonPath' },
    };
  }
  const cannotImport = tried.some((t) => !t.verdict.ok && t.verdict.problem === 'noSidecar');
  if (cannotImport && code.origin === 'bundled') {
    return {
      message: `The Alibaba Cloud extension's own copy of its helper cannot be loaded (${failures.join('; ')}). Reinstall the extension.`,
      fix: { title: 'Show Output', kind: 'showOutput' },
    };
  }
  const found = tried.filter((t) => !t.verdict.ok && t.verdict.problem !== 'notFound');
  const what = found.length ? `none was usable (${failures.join('; ')})` : `none was found (tried ${tried.map((t) => describeCandidate(t.candidate)).join(', ')})`;
  const fix: ErrorActionView = pythonExtensionInstalled
    ? { title: 'Select Interpreter', kind: 'runCommand', arg: SELECT_INTERPRETER_COMMAND }
    : { title: 'Install Python', kind: 'openDocs', arg: INSTALL_PYTHON_URL };
  return { message: `The Alibaba Cloud extension needs ${need}, and ${what}. ${pythonExtensionInstalled ? 'Select one in the Python extension' : 'Install Python, then run "Alibaba Cloud: Restart Sidecar"'}.`, fix };
}

/**
 * The child's environment: ours, unchanged. The code's folder goes in argv (`sidecarArgs`): under
 * `-I` Python ignores PYTHONPATH, so neither ours nor the user's can put a folder's code first.
 */
export function launchEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base };
}

/**
 * The command that opens the settings tab where `aliyun.sidecar.pythonPath` really is: a `machine`
 * setting is read from the Remote settings in a remote window (Remote-SSH, WSL,
 * containers, code-server), where the User tab would show it greyed out.
 */
export function settingsCommand(remoteName: string | undefined): string {
  return remoteName ? 'workbench.action.openRemoteSettings' : 'workbench.action.openSettings';
}
