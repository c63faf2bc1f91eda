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
  /** Recorded as `<value>…` (what comes before the terminal's own value). */
  prepend(name: string, value: string): void {
    this.vars.set(name, `${value}…`);
  }
  clear(): void {
    this.clears++;
    this.vars.clear();
  }
}

/** The window/env/workspace double: tests set `stub.*` and read what the code under test did. */
export const stub = {
  remoteName: undefined as string | undefined,
  asExternalUri: async (uri: Uri): Promise<Uri> => uri,
  config: {} as Record<string, unknown>,
  /** Every message shown, as `info: text` / `warning: text` / `error: text`. */
  messages: [] as string[],
  /** How a message is answered (default: dismissed). */
  answer: (_message: string, _items: string[]): string | undefined => undefined,
  inputBoxes: [] as FakeInputBox[],
  statusMessages: [] as string[],
  clipboard: '',
  /** Calls in order (`asExternalUri …`, `openExternal …`, `inputBox`), to check what came first. */
  events: [] as string[],
  extensions: {} as Record<string, unknown>,
  /** Every progress notification: its title, messages, whether it is still open, and its Cancel. */
  progresses: [] as FakeProgress[],
  /** `lm.registerMcpServerDefinitionProvider` calls: id → provider. */
  mcpProviders: new Map<string, unknown>(),
  /** `debug.registerDebugConfigurationProvider` calls, in order. */
  debugProviders: [] as Array<{ type: string; provider: unknown }>,
  /** Fire to simulate a settings change: `stub.configChanged.fire(['aliyun.mcp.mode'])`. */
  configChanged: new EventEmitter<string[]>(),
};

/** A withProgress notification as the user sees it: open until its task settles. */
export interface FakeProgress {
  title: string;
  cancellable: boolean;
  messages: string[];
  open: boolean;
  /** The notification's Cancel button. */
  cancel(): void;
}

export class Uri {
  private constructor(private readonly value: string) {}
  static parse(value: string): Uri {
    return new Uri(value);
  }
  static file(path: string): Uri {
    return new Uri(`file://${path}`);
  }
  get fsPath(): string {
    return this.value.replace(/^file:\/\//, '');
  }
  toString(): string {
    return this.value;
  }
}

export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 };
export const InputBoxValidationSeverity = { Info: 1, Warning: 2, Error: 3 };

/** A QuickInput InputBox double; tests call type() and accept() as the user would. */
export class FakeInputBox {
  value = '';
  title: string | undefined;
  prompt: string | undefined;
  placeholder: string | undefined;
  ignoreFocusOut = false;
  busy = false;
  enabled = true;
  validationMessage: string | undefined;
  visible = false;
  private readonly accepted = new EventEmitter<void>();
  private readonly hidden = new EventEmitter<void>();
  private readonly changed = new EventEmitter<string>();
  readonly onDidAccept = this.accepted.event;
  readonly onDidHide = this.hidden.event;
  readonly onDidChangeValue = this.changed.event;
  show(): void {
    this.visible = true;
  }
  hide(): void {
    if (!this.visible) return;
    this.visible = false;
    this.hidden.fire();
  }
  dispose(): void {}
  type(value: string): void {
    this.value = value;
    this.changed.fire(value);
  }
  accept(): void {
    this.accepted.fire();
  }
}

function message(severity: string) {
  return (text: string, ...items: unknown[]): Promise<string | undefined> => {
    stub.messages.push(`${severity}: ${text}`);
    const titles = items.filter((i): i is string => typeof i === 'string');
    return Promise.resolve(stub.answer(text, titles));
  };
}

export const window = {
  showInformationMessage: message('info'),
  showWarningMessage: message('warning'),
  showErrorMessage: message('error'),
  setStatusBarMessage: (text: string): Disposable => {
    stub.statusMessages.push(text);
    return new Disposable(() => undefined);
  },
  createInputBox: (): FakeInputBox => {
    const box = new FakeInputBox();
    stub.inputBoxes.push(box);
    stub.events.push('inputBox');
    return box;
  },
  withProgress: <R>(
    options: { title?: string; cancellable?: boolean },
    task: (progress: { report(v: { message?: string }): void }, token: unknown) => Promise<R>,
  ): Promise<R> => {
    const cancelled = new EventEmitter<void>();
    const token = { isCancellationRequested: false, onCancellationRequested: cancelled.event };
    const p: FakeProgress = {
      title: options.title ?? '',
      cancellable: !!options.cancellable,
      messages: [],
      open: true,
      cancel: () => {
        token.isCancellationRequested = true;
        cancelled.fire();
      },
    };
    stub.progresses.push(p);
    return task({ report: (v) => v.message !== undefined && p.messages.push(v.message) }, token).finally(() => (p.open = false));
  },
};

export const env = {
  get remoteName(): string | undefined {
    return stub.remoteName;
  },
  asExternalUri: (uri: Uri): Promise<Uri> => {
    stub.events.push(`asExternalUri ${uri.toString()}`);
    return stub.asExternalUri(uri);
  },
  openExternal: async (uri: Uri | string): Promise<boolean> => {
    stub.events.push(`openExternal ${uri.toString()}`);
    return true;
  },
  clipboard: {
    writeText: async (text: string): Promise<void> => {
      stub.clipboard = text;
    },
  },
};

export const workspace = {
  getConfiguration: (section: string) => ({
    get: <T>(key: string, fallback?: T): T | undefined => (stub.config[`${section}.${key}`] as T | undefined) ?? fallback,
  }),
  /** Fired by `stub.configChanged`; affectsConfiguration matches a changed key or a section above it. */
  onDidChangeConfiguration: (listener: Listener<{ affectsConfiguration(section: string): boolean }>): Disposable =>
    stub.configChanged.event((keys) => listener({ affectsConfiguration: (s) => keys.some((k) => k === s || k.startsWith(`${s}.`)) })),
};

/** An McpStdioServerDefinition as the API declares it (fields only). */
export class McpStdioServerDefinition {
  cwd: Uri | undefined;
  constructor(
    readonly label: string,
    public command: string,
    public args: string[] = [],
    public env: Record<string, string | number | null> = {},
    public version?: string,
  ) {}
}

export const lm = {
  registerMcpServerDefinitionProvider: (id: string, provider: unknown): Disposable => {
    stub.mcpProviders.set(id, provider);
    return new Disposable(() => stub.mcpProviders.delete(id));
  },
};

export const debug = {
  registerDebugConfigurationProvider: (type: string, provider: unknown): Disposable => {
    const entry = { type, provider };
    stub.debugProviders.push(entry);
    return new Disposable(() => stub.debugProviders.splice(stub.debugProviders.indexOf(entry), 1));
  },
};

export const commands = {
  executeCommand: async (id: string): Promise<undefined> => {
    stub.events.push(`command ${id}`);
    return undefined;
  },
};

/** Installed extensions by id (`stub.extensions`), for the Python extension's API. */
export const extensions = {
  getExtension: (id: string): unknown => stub.extensions[id],
};

const resolver = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const original = resolver._resolveFilename;
resolver._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? __filename : original.call(this, request, ...rest);
};
