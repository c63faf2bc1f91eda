/** The profile quick pick (status bar click, `aliyun.switchProfile`), and the delete confirmation. */

import * as vscode from 'vscode';
import type { Sidecar } from './client';
import { Methods, type ProfileList } from './model/contract';
import { deleteTarget, pickerRows, rowToKeep, type PickerAction, type PickerChoice } from './model/pickerModel';
import { nowSeconds } from './model/time';
import { showConfigProblem, showError } from './errors';
import type { IdentityStore } from './identity';
import type { SignInFlow } from './signIn';

type Item = vscode.QuickPickItem & { action: PickerAction };

const DELETE_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete this profile…' };

export async function showProfilePicker(sidecar: Sidecar, signIn: SignInFlow, identities: IdentityStore): Promise<void> {
  if (!(await canPick(sidecar))) return;
  const chosen = await pickProfile(sidecar, identities);
  if (!chosen) return;
  if ('delete' in chosen) {
    if (chosen.delete) await deleteProfile(sidecar, chosen.delete);
    return;
  }
  const action = chosen.action;
  switch (action.kind) {
    case 'newProfile':
      return signIn.signIn(undefined, { newProfile: true });
    case 'signIn':
      return signIn.signInAgain(action.entry);
    case 'switch':
      return switchTo(sidecar, action.profile);
  }
}

/** Whether the list can be shown; else says why (no sidecar, or a config file that cannot be used). */
async function canPick(sidecar: Sidecar): Promise<boolean> {
  if (sidecar.status.kind === 'down') {
    await sidecar.request(Methods.listProfiles).catch((e) => showError(e));
    return false;
  }
  const problem = sidecar.configProblem;
  if (problem) {
    // The list would be stale and every choice would fail on the file: say why at once.
    await showConfigProblem(problem, { method: Methods.switchProfile });
    return false;
  }
  return true;
}

/** The quick pick itself: its rows follow the file (and the identities) while it is open. */
function pickProfile(sidecar: Sidecar, identities: IdentityStore): Promise<PickerChoice | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<Item>();
    qp.title = 'Alibaba Cloud profiles';
    qp.placeholder = 'Select the profile the CLI, SDKs and terminals use (config: current)';
    qp.matchOnDescription = true;
    const render = renderer(qp, sidecar, identities);
    render();
    // The list follows the file while the picker is open (another process may sign in or delete).
    const subs = [sidecar.onDidChange(render), identities.onDidChange(render)];
    let result: PickerChoice | undefined;
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (item) result = { action: item.action };
      qp.hide();
    });
    qp.onDidTriggerItemButton((e) => {
      result = { delete: deleteTarget(e.item.action) };
      qp.hide();
    });
    qp.onDidHide(() => {
      for (const s of subs) s.dispose();
      qp.dispose();
      resolve(result);
    });
    qp.show();
  });
}

/** (Re)fills the quick pick from the model's rows, keeping the row the user is on. */
function renderer(qp: vscode.QuickPick<Item>, sidecar: Sidecar, identities: IdentityStore): () => void {
  let rendered = false;
  return () => {
    const list = sidecar.profiles;
    qp.busy = !list;
    const rows = pickerRows(list, nowSeconds(), (e) => identities.stateOf(e));
    const active = qp.activeItems[0];
    const items: Item[] = rows.map((r) => ({
      label: r.label,
      description: r.description,
      detail: r.detail,
      buttons: r.deletable ? [DELETE_BUTTON] : [],
      action: r.action,
    }));
    qp.items = items;
    // Open on the current profile (Enter keeps it); later re-renders keep the row the user is on.
    const keep = rowToKeep(rows, active?.label, rendered);
    if (keep >= 0) qp.activeItems = [items[keep]!];
    rendered = rendered || !!list;
  };
}

export async function switchTo(sidecar: Sidecar, name: string): Promise<void> {
  try {
    sidecar.setProfiles(await sidecar.request<ProfileList>(Methods.switchProfile, { name }));
    vscode.window.setStatusBarMessage(`Alibaba Cloud: using profile "${name}"`, 4000);
  } catch (e) {
    await showError(e, { method: Methods.switchProfile, profile: name });
  }
}

/** `aliyun.deleteProfile`: which one (when not given), a modal confirmation, then the request. */
export async function deleteProfile(sidecar: Sidecar, name?: string): Promise<void> {
  if (!name) {
    const names = (sidecar.profiles?.profiles ?? []).map((p) => p.name);
    if (!names.length) {
      void vscode.window.showInformationMessage('There is no Alibaba Cloud profile to delete.');
      return;
    }
    name = await vscode.window.showQuickPick(names, { title: 'Delete an Alibaba Cloud profile', placeHolder: 'Profile to delete' });
    if (!name) return;
  }
  const confirm = await vscode.window.showWarningMessage(
    `Delete the Alibaba Cloud profile "${name}"?`,
    {
      modal: true,
      detail: 'The profile and all its tokens are removed from the config file shared with the CLI. The authorization itself is not revoked.',
    },
    'Delete',
  );
  if (confirm !== 'Delete') return;
  try {
    sidecar.setProfiles(await sidecar.request<ProfileList>(Methods.deleteProfile, { name }));
    vscode.window.setStatusBarMessage(`Alibaba Cloud: profile "${name}" deleted`, 4000);
  } catch (e) {
    await showError(e, { method: Methods.deleteProfile, profile: name });
  }
}
