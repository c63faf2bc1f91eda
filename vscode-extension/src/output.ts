/**
 * The "Alibaba Cloud" output channel, behind a redacting wrapper: vscode-languageclient writes its
 * trace (every params/result object at `aliyun.trace.server: verbose`) and the sidecar's stderr to the
 * channel it is given, so giving it this wrapper is the one place where secrets are kept out.
 */

import * as vscode from 'vscode';
import { redact } from './model/redact';

const WRITERS = new Set<PropertyKey>(['trace', 'debug', 'info', 'warn', 'error', 'append', 'appendLine', 'replace']);

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export function redactingChannel(inner: vscode.LogOutputChannel): vscode.LogOutputChannel {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (!WRITERS.has(prop)) return value.bind(target);
      // One redacted string per call: the trace puts a header and its JSON body in one message.
      return (...args: unknown[]) => (value as (s: string) => void).call(target, redact(args.map(text).join(' ')));
    },
  });
}

export function createOutput(): vscode.LogOutputChannel {
  return redactingChannel(vscode.window.createOutputChannel('Alibaba Cloud', { log: true }));
}
