/** The sidecar itself: its config file at the error, its output, a restart. */

import * as vscode from 'vscode';
import type { Sidecar } from '../client';
import { openConfigAt, showError } from '../errors';
import { configPosition } from '../model/errorModel';
import { OPEN_CONFIG_COMMAND } from '../model/statusModel';
import { register } from './register';

export function sidecarCommands(sidecar: Sidecar): vscode.Disposable[] {
  return [
    // Not in the palette: the config-problem status item's click.
    register(OPEN_CONFIG_COMMAND, () => openConfig(sidecar)),
    register('aliyun.showOutput', () => sidecar.log.show()),
    register('aliyun.restartSidecar', () => restart(sidecar)),
  ];
}

/** The config file, at the error's line and column. */
async function openConfig(sidecar: Sidecar): Promise<void> {
  const problem = sidecar.configProblem;
  const path = problem?.path || sidecar.profiles?.configPath;
  if (!path) return;
  try {
    const at = problem ? configPosition(problem) : undefined;
    await openConfigAt(path, at?.line, at?.column);
  } catch (e) {
    await showError(e);
  }
}

async function restart(sidecar: Sidecar): Promise<void> {
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Alibaba Cloud: restarting the sidecar' }, () =>
      sidecar.restart(),
    );
  } catch (e) {
    await showError(e);
  }
}
