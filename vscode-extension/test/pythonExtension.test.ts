import { stub, EventEmitter } from '../test-helpers/vscode';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { onDidChangeSelectedPython, pythonExtensionInstalled, selectedPython } from '../src/pythonExtension';

/** The Python extension as @vscode/python-extension sees it: `exports.environments`. */
function fakePythonExtension(resolved: string | undefined, opts: { failResolve?: boolean } = {}) {
  const changed = new EventEmitter<unknown>();
  let activations = 0;
  const environments = {
    getActiveEnvironmentPath: () => ({ id: 'x', path: '/w/.venv' }),
    resolveEnvironment: async () => {
      if (opts.failResolve) throw new Error('resolver crashed');
      return resolved ? { executable: { uri: { fsPath: resolved } } } : undefined;
    },
    onDidChangeActiveEnvironmentPath: changed.event,
  };
  return {
    changed,
    activations: () => activations,
    ext: { isActive: false, exports: { environments }, activate: async () => void activations++ },
  };
}

test('no Python extension: nothing selected, never an error', async () => {
  stub.extensions = {};
  assert.equal(pythonExtensionInstalled(), false);
  assert.equal(await selectedPython(() => assert.fail('no log')), undefined);
});

test("the Python extension's selected environment: its executable, the extension activated first", async () => {
  const py = fakePythonExtension('/w/.venv/bin/python');
  stub.extensions = { 'ms-python.python': py.ext };
  assert.equal(pythonExtensionInstalled(), true);
  assert.equal(await selectedPython(() => undefined), '/w/.venv/bin/python');
  assert.equal(py.activations(), 1);
  // Unresolvable: the path it gave; a failing API: undefined and one log line.
  stub.extensions = { 'ms-python.python': fakePythonExtension(undefined).ext };
  assert.equal(await selectedPython(() => undefined), '/w/.venv');
  stub.extensions = { 'ms-python.python': fakePythonExtension('/x', { failResolve: true }).ext };
  const logs: string[] = [];
  assert.equal(await selectedPython((m) => logs.push(m)), undefined);
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /resolver crashed/);
});

test('a new selection in the Python extension is reported (and not after dispose)', async () => {
  const py = fakePythonExtension('/a');
  stub.extensions = { 'ms-python.python': py.ext };
  let calls = 0;
  const sub = onDidChangeSelectedPython(() => calls++);
  await new Promise((r) => setTimeout(r, 10));
  py.changed.fire({});
  assert.equal(calls, 1);
  sub.dispose();
  py.changed.fire({});
  assert.equal(calls, 1);
});
