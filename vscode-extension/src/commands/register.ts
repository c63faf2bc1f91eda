/** What every command group uses: registration, and the profile a command was given. */

import * as vscode from 'vscode';

export type Handler = (...args: unknown[]) => unknown;

export const register = (id: string, fn: Handler): vscode.Disposable => vscode.commands.registerCommand(id, fn);

/** The profile a command was invoked with: a name, or an object with `profile` (a tree item, an API caller). */
export const profileArg = (arg: unknown): string | undefined =>
  typeof arg === 'string' ? arg : arg && typeof arg === 'object' && 'profile' in arg ? String((arg as { profile: unknown }).profile) : undefined;
