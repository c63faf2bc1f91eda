/**
 * A hand-written double of the few `vscode` APIs the tested modules touch at run time, and the require
 * hook that makes `require('vscode')` return it. Import this module first in a test file.
 * (Kept outside test/: `node --test out/test/` runs every .js under a folder named "test".)
 */

import Module = require('node:module');

type Listener<T> = (e: T) => unknown;

export class Disposable {
  constructor(private readonly fn: () => void) {}
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

/** An EnvironmentVariableCollection that records what was set. */
export class FakeEnvironmentCollection {
  persistent = true;
  description: string | undefined;
  readonly vars = new Map<string, string>();
  clears = 0;
  replace(name: string, value: string): void {
    this.vars.set(name, value);
  }
  clear(): void {
    this.clears++;
    this.vars.clear();
  }
}

const resolver = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const original = resolver._resolveFilename;
resolver._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? __filename : original.call(this, request, ...rest);
};
