/**
 * The `aliyun-sidecar` launcher: a small script the extension writes into its global storage so that
 * what runs the sidecar outside the editor (terminal sign-in, an `External` profile's
 * `process_command`, scripts) needs no checkout and no `pip install`: it runs the extension's own
 * bundled copy with the interpreter the extension found. The extension rewrites it each time the
 * sidecar starts, so it follows extension updates (the bundle's folder changes) and interpreter
 * changes, while its own path stays the same.
 *
 * POSIX: a `sh` script; Windows: a `.cmd` file and an `sh` script for Git Bash. Paths are quoted for
 * the shell that runs them.
 */

import { sidecarArgs, type SidecarLaunch } from './interpreter';

const LAUNCHER_NAME = 'aliyun-sidecar';

export interface LauncherFile {
  name: string;
  text: string;
  mode: number;
}

/** A word for `sh`: single-quoted, with `'` written as `'\''`. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A word for `cmd.exe`: double-quoted when it has a space or a character cmd treats specially, `%`
 * doubled (cmd expands `%VAR%` even inside quotes in a batch file). Windows paths cannot hold `"`.
 */
export function cmdQuote(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  return /[\s&|<>^()!,;=]/.test(word) || word === '' ? `"${escaped}"` : escaped;
}

const HEADER = [
  `${LAUNCHER_NAME}: the Alibaba Cloud extension's sign-in helper, for terminals and process_command.`,
  'Written by the extension each time it starts the helper; edits are overwritten.',
];

/** What a launcher runs: a program and its arguments (the launcher adds the user's). */
export interface LauncherTarget {
  command: string;
  args: string[];
}

/**
 * What the launcher runs: the interpreter's absolute path when known (a terminal's `python3` or `py -3`
 * may be another program than the one the extension found), else the launch's own command. Either
 * way isolated (`-I`) with the code's folder in argv (interpreter.sidecarArgs): started from a cloned
 * repository, it never imports that repository's `sidecar/`, `json.py`...
 */
export function launcherTarget(launch: SidecarLaunch): LauncherTarget {
  if (launch.executable) return { command: launch.executable, args: sidecarArgs(launch.pythonPath) };
  return { command: launch.command, args: launch.args };
}

/** The environment variables a `.cmd` may write a path relative to (most specific first). */
const CMD_PATH_VARIABLES = ['LOCALAPPDATA', 'APPDATA', 'USERPROFILE'] as const;
export type CmdVariables = Partial<Record<(typeof CMD_PATH_VARIABLES)[number], string>>;

/**
 * A word for a `.cmd`, ASCII where it can be: cmd.exe reads batch files in the OEM code page, so a
 * UTF-8 `C:\Users\用户\...` would be garbled. A path under `%LOCALAPPDATA%`, `%APPDATA%` or
 * `%USERPROFILE%` is written relative to it (cmd expands the variable in the user's own spelling);
 * what stays non-ASCII after that is handled by `launcherFiles` (a code-page switch).
 */
export function cmdWord(word: string, vars: CmdVariables = {}): string {
  for (const name of CMD_PATH_VARIABLES) {
    const base = vars[name]?.replace(/[\\/]+$/, '');
    if (!base) continue;
    const lower = word.toLowerCase();
    if (lower === base.toLowerCase() || lower.startsWith(base.toLowerCase() + '\\')) {
      return `"%${name}%${word.slice(base.length).replace(/%/g, '%%')}"`;
    }
  }
  return cmdQuote(word);
}

function isAscii(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}

function shLines(target: LauncherTarget, command: string): string[] {
  return ['#!/bin/sh', ...HEADER.map((l) => `# ${l}`), `exec ${[command, ...target.args].map(shQuote).join(' ')} "$@"`];
}

/**
 * The launcher files for one platform. POSIX: an `sh` script. Windows: a `.cmd` for cmd.exe and
 * PowerShell, and beside it the same `sh` script without an extension for Git Bash (which ignores
 * PATHEXT), running the interpreter by its `C:/...` path.
 *
 * The `.cmd` is ASCII (cmdWord). A path outside the user's folders that still is not (a Python
 * installed in `D:\工具`) gets `chcp 65001` around the one line that needs it, the previous code
 * page restored after; the `chcp` lines themselves are ASCII, so cmd reads them before the switch.
 */
export function launcherFiles(target: LauncherTarget, platform: NodeJS.Platform, vars: CmdVariables = {}): LauncherFile[] {
  if (platform === 'win32') {
    const lines = ['@echo off', ...HEADER.map((l) => `rem ${l}`), 'setlocal'];
    const run = `${[target.command, ...target.args].map((w) => cmdWord(w, vars)).join(' ')} %*`;
    if (isAscii(run)) {
      lines.push(run, 'exit /b %ERRORLEVEL%');
    } else {
      lines.push(
        `for /f "tokens=2 delims=:." %%c in ('chcp') do set "ALIYUN_SIDECAR_CP=%%c"`,
        'chcp 65001 >nul',
        run,
        'set "ALIYUN_SIDECAR_RC=%ERRORLEVEL%"',
        'chcp %ALIYUN_SIDECAR_CP% >nul',
        'exit /b %ALIYUN_SIDECAR_RC%',
      );
    }
    const sh = shLines(target, target.command.replace(/\\/g, '/'));
    return [
      { name: `${LAUNCHER_NAME}.cmd`, text: lines.join('\r\n') + '\r\n', mode: 0o644 },
      { name: LAUNCHER_NAME, text: sh.join('\n') + '\n', mode: 0o755 },
    ];
  }
  return [{ name: LAUNCHER_NAME, text: shLines(target, target.command).join('\n') + '\n', mode: 0o755 }];
}

/** A word that needs no quoting in either splitter (shlex, or whitespace-outside-quotes). */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word of a `process_command`, quoted so that both of its readers split it back: the Python SDK
 * (`shlex.split` on POSIX; cmd.exe on Windows) and the Go CLI (whitespace outside quotes, quotes
 * removed, no escapes). POSIX: single quotes (literal for both), or double quotes for a word holding
 * `'` and nothing shlex treats specially inside them; a word with both kinds falls back to shlex's
 * `'\''` (the Go CLI cannot take it). Windows: double quotes (a Windows path cannot hold `"`, and
 * shlex keeps a backslash before an ordinary character inside them).
 */
export function commandWord(word: string, platform: NodeJS.Platform): string {
  if (PLAIN_WORD.test(word)) return word;
  if (platform === 'win32') return `"${word}"`;
  if (!word.includes("'")) return `'${word}'`;
  if (!/["\\$`]/.test(word)) return `"${word}"`;
  return shQuote(word);
}

/** The `process_command` an `External` profile writes to run the launcher for `profile`. */
export function processCommand(launcherPath: string, platform: NodeJS.Platform, profile = 'NAME'): string {
  return [launcherPath, 'credentials', '--profile', profile].map((w) => commandWord(w, platform)).join(' ');
}
