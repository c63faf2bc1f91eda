import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { activeRow, deleteTarget, pickerRows, rowToKeep } from '../src/model/pickerModel';
import { ak, list, NOW, oauth } from '../test-helpers/fixtures';

test('one row per profile, current marked, then "Sign in with a new profile…"', () => {
  const rows = pickerRows(list('dev', oauth('dev'), oauth('prod', { site: 'INTL', region: 'ap-southeast-1' }), ak('ak1')), NOW);
  assert.deepEqual(
    rows.map((r) => r.label),
    ['$(check) dev', '$(account) prod', '$(account) ak1', '$(add) Sign in with a new profile…'],
  );
  assert.equal(rows[0]!.description, 'current · signed in · CN · cn-hangzhou');
  assert.equal(rows[1]!.description, 'signed in · INTL · ap-southeast-1');
  assert.equal(rows[2]!.description, 'AK profile, not managed here · cn-shanghai');
  assert.deepEqual(rows[1]!.action, { kind: 'switch', profile: 'prod' });
  assert.deepEqual(rows[3]!.action, { kind: 'newProfile' });
  assert.deepEqual(rows.map((r) => r.deletable), [true, true, true, false]);
});

test('a signInRequired row signs in again when selected', () => {
  const dead = oauth('dev', { state: 'signInRequired' });
  const [row] = pickerRows(list('dev', dead), NOW);
  assert.equal(row!.description, 'current · sign-in required: select to sign in · CN · cn-hangzhou');
  assert.deepEqual(row!.action, { kind: 'signIn', entry: { ...dead, isCurrent: true } });
});

test('expires soon shows the time left', () => {
  const [row] = pickerRows(list('x', oauth('dev', { refreshTokenExpiresAt: NOW + 300 })), NOW);
  assert.match(row!.description, /session ends in 5 min/);
});

test('no list yet: only the new-profile row', () => {
  assert.equal(pickerRows(undefined, NOW).length, 1);
});

test('the picker opens on the current profile, not on the first row', () => {
  const rows = pickerRows(list('prod', oauth('dev'), oauth('prod')), NOW);
  assert.equal(activeRow(rows), 1);
  assert.deepEqual(rows.map((r) => r.current), [false, true, false]);
  assert.equal(activeRow(pickerRows(undefined, NOW)), 0);
});

test('rows say why a sign-in is required and which profile a chain comes from', () => {
  const rows = pickerRows(
    list('dev', oauth('dev', { state: 'signInRequired', stateReason: 'refreshTokenExpired' }), ak('chain', { mode: 'ChainableRamRoleArn', sourceProfile: 'dev' })),
    NOW,
  );
  assert.equal(rows[0]!.description, 'current · sign-in required (session expired): select to sign in · CN · cn-hangzhou');
  assert.match(rows[1]!.description, /via dev/);
});

test('the CLI\'s empty "default" profile (no mode yet) is called empty, not unknown', () => {
  const [row] = pickerRows(list('dev', ak('default', { mode: '', region: '' })), NOW);
  assert.equal(row!.description, 'empty profile (no credentials)');
});

test('the row kept after a re-render: the current one first, then the one the user is on', () => {
  const rows = pickerRows(list('dev', oauth('dev'), oauth('prod')), NOW);
  assert.equal(rowToKeep(rows, undefined, false), 0);
  assert.equal(rowToKeep(rows, '$(account) prod', false), 0, 'before the list was shown once, the current profile');
  assert.equal(rowToKeep(rows, '$(account) prod', true), 1);
  assert.equal(rowToKeep(rows, '$(account) gone', true), -1, 'a row that left: nothing is forced');
  assert.equal(rowToKeep(rows, undefined, true), 0);
});

test('a delete button deletes its own profile; the new-profile row has none', () => {
  const rows = pickerRows(list('dev', oauth('dev'), ak('ak1')), NOW);
  assert.deepEqual(rows.map((r) => deleteTarget(r.action)), ['dev', 'ak1', '']);
});
