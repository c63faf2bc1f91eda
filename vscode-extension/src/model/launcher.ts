/**
 * The `aliyun-sidecar` launcher: a small script the extension writes into its global storage so that
 * what runs the sidecar outside the editor (terminal sign-in, an `External` profile's
 * `process_command`, scripts) needs no checkout and no `pip install`: it runs the extension's own
 * bundled copy with the interpreter the extension found. The extension rewrites it each time the
 * sidecar starts, so it follows extension updates (the bundle's folder changes) and interpreter
 * changes, while its own path stays the same.
 *
 * POSIX: a `sh` script; Windows: a `.cmd` file. Paths are quoted for the shell that runs them.
 */

import { SIDECAR_ARGS, type SidecarLaunch } from './interpreter';

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

/**
 * What the launcher runs: the interpreter's absolute path when known (a terminal's `python3` or `py -3`
 * may be another program than the one the extension found), else the launch's own command.
 */
export function launcherTarget(launch: SidecarLaunch): Pick<SidecarLaunch, 'command' | 'args' | 'pythonPath'> {
  if (launch.executable) return { command: launch.executable, args: [...SIDECAR_ARGS], pythonPath: launch.pythonPath };
  return { command: launch.command, args: launch.args, pythonPath: launch.pythonPath };
}

export function launcherFiles(launch: Pick<SidecarLaunch, 'command' | 'args' | 'pythonPath'>, platform: NodeJS.Platform): LauncherFile[] {
  if (platform === 'win32') {
    const lines = ['@echo off', ...HEADER.map((l) => `rem ${l}`), 'setlocal'];
    if (launch.pythonPath) {
      const p = launch.pythonPath.replace(/%/g, '%%');
      lines.push(`if defined PYTHONPATH (set "PYTHONPATH=${p};%PYTHONPATH%") else (set "PYTHONPATH=${p}")`);
    }
    lines.push(`${[launch.command, ...launch.args].map(cmdQuote).join(' ')} %*`, 'exit /b %ERRORLEVEL%');
    return [{ name: `${LAUNCHER_NAME}.cmd`, text: lines.join('\r\n') + '\r\n', mode: 0o644 }];
  }
  const lines = ['#!/bin/sh', ...HEADER.map((l) => `# ${l}`)];
  if (launch.pythonPath) lines.push(`PYTHONPATH=${shQuote(launch.pythonPath)}\${PYTHONPATH:+:\$PYTHONPATH}`, 'export PYTHONPATH');
  lines.push(`exec ${[launch.command, ...launch.args].map(shQuote).join(' ')} "$@"`);
  return [{ name: LAUNCHER_NAME, text: lines.join('\n') + '\n', mode: 0o755 }];
}
