/** Rows of the profile quick pick, as data (profilePicker.ts turns them into QuickPickItems). */

import type { ProfileEntry, ProfileList } from './contract';
import { stateReason, stateShort, viewState } from './profileView';
import { identityText } from './identityModel';
import { noIdentity, type IdentityOf } from './statusModel';

export type PickerAction =
  | { kind: 'switch'; profile: string }
  /** The profile needs the browser: selecting it signs in again with its site/region/language. */
  | { kind: 'signIn'; entry: ProfileEntry }
  | { kind: 'newProfile' };

export interface PickerRow {
  label: string;
  description: string;
  /** Who the profile signs in as ("RAM user dev in account …", or "identity unknown …"). */
  detail?: string;
  action: PickerAction;
  /** Whether the row gets the delete button. */
  deletable: boolean;
  /** The current profile's row (the picker opens on it). */
  current: boolean;
}

export function pickerRows(list: ProfileList | undefined, now: number, identityOf: IdentityOf = noIdentity): PickerRow[] {
  const rows: PickerRow[] = (list?.profiles ?? []).map((entry) => {
    const current = entry.name === list?.current;
    const needsBrowser = viewState(entry, now) === 'signInRequired';
    const parts: string[] = [];
    if (current) parts.push('current');
    const why = stateReason(entry);
    parts.push(needsBrowser ? `sign-in required${why ? ` (${why.short})` : ''}: select to sign in` : stateShort(entry, now));
    if (entry.sourceProfile) parts.push(`via ${entry.sourceProfile}`);
    if (entry.site) parts.push(entry.site);
    if (entry.region) parts.push(entry.region);
    return {
      label: `${current ? '$(check)' : '$(account)'} ${entry.name}`,
      description: parts.join(' · '),
      detail: identityText(identityOf(entry)),
      action: needsBrowser ? { kind: 'signIn', entry } : { kind: 'switch', profile: entry.name },
      deletable: true,
      current,
    };
  });
  rows.push({
    label: '$(add) Sign in with a new profile…',
    description: 'opens the browser',
    action: { kind: 'newProfile' },
    deletable: false,
    current: false,
  });
  return rows;
}

/** The row the picker opens on: the current profile's (Enter keeps it), else the first. */
export function activeRow(rows: PickerRow[]): number {
  const i = rows.findIndex((r) => r.current);
  return i >= 0 ? i : 0;
}

/** What the user did in the picker: chose a row, or pressed a row's delete button (the profile's name). */
export type PickerChoice = { action: PickerAction } | { delete: string };

/** The profile a row's delete button deletes ('' for a row that has none). */
export function deleteTarget(action: PickerAction): string {
  return action.kind === 'signIn' ? action.entry.name : action.kind === 'switch' ? action.profile : '';
}

/**
 * The row to make active after a render: on the first render that has the list, the current
 * profile's (Enter keeps it); later, the row the user is on (`activeLabel`), wherever it moved.
 */
export function rowToKeep(rows: PickerRow[], activeLabel: string | undefined, rendered: boolean): number {
  return rendered && activeLabel !== undefined ? rows.findIndex((r) => r.label === activeLabel) : activeRow(rows);
}
