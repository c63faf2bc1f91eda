/**
 * The interpreter the Python extension (ms-python.python) has selected, through its public API
 * (`@vscode/python-extension`), when that extension is installed. Never required: without it the
 * extension looks on PATH.
 */

import * as vscode from 'vscode';
import { PVSC_EXTENSION_ID, PythonExtension } from '@vscode/python-extension';

/** The Python extension activates itself first; never wait for it forever. */
const API_TIMEOUT_MS = 15_000;

export function pythonExtensionInstalled(): boolean {
  return vscode.extensions.getExtension(PVSC_EXTENSION_ID) !== undefined;
}

async function api(): Promise<PythonExtension | undefined> {
  if (!pythonExtensionInstalled()) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), API_TIMEOUT_MS)));
  try {
    return await Promise.race([PythonExtension.api(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The selected environment's executable for the first workspace folder, or undefined. */
export async function selectedPython(log: (message: string) => void): Promise<string | undefined> {
  try {
    const environments = (await api())?.environments;
    if (!environments) return undefined;
    const active = environments.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri);
    const resolved = await environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch (e) {
    log(`The Python extension did not say which interpreter is selected: ${(e as Error).message ?? String(e)}`);
    return undefined;
  }
}

/** Calls `listener` when the user selects another interpreter in the Python extension. */
export function onDidChangeSelectedPython(listener: () => void): vscode.Disposable {
  let sub: vscode.Disposable | undefined;
  let disposed = false;
  void api()
    .then((a) => {
      if (a && !disposed) sub = a.environments.onDidChangeActiveEnvironmentPath(() => listener());
    })
    .catch(() => undefined);
  return new vscode.Disposable(() => {
    disposed = true;
    sub?.dispose();
  });
}
