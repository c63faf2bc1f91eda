import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Identity } from '../src/model/contract';
import {
  identityDetail,
  describeIdentity,
  identityState,
  identityText,
  identityTooltipLines,
  isMethodNotFound,
  RETRY_AFTER_SECONDS,
  shouldLookUp,
  type IdentityState,
} from '../src/model/identityModel';
import { pickerRows } from '../src/model/pickerModel';
import { statusView } from '../src/model/statusModel';
import { ak, fmt, list, NOW, oauth } from '../test-helpers/fixtures';

const user: Identity = {
  profile: 'dev',
  accountId: '1234567890123456',
  identityType: 'RAMUser',
  arn: 'acs:ram::1234567890123456:user/dev',
  principalId: '208800001111',
  userId: '208800001111',
};
const role: Identity = {
  profile: 'ops',
  accountId: '5555666677778888',
  identityType: 'AssumedRoleUser',
  arn: 'acs:ram::5555666677778888:assumed-role/dev-role/x',
  principalId: '300999:x',
  userId: null,
};
const known = (identity: Identity): IdentityState => ({ kind: 'known', identity });

test('a RAM user, an assumed role, the root account, something else', () => {
  assert.equal(describeIdentity(user), 'RAM user dev in account 1234567890123456');
  assert.equal(describeIdentity(role), 'role dev-role (session x) in account 5555666677778888');
  assert.equal(
    describeIdentity({ ...user, identityType: 'Account', arn: 'acs:ram::1234567890123456:root' }),
    'root user of account 1234567890123456',
  );
  // An ARN we cannot read: the ids still say something.
  assert.equal(describeIdentity({ ...user, arn: '' }), 'RAM user 208800001111 in account 1234567890123456');
  assert.equal(describeIdentity({ ...role, arn: '' }), 'role assumed role (session x) in account 5555666677778888');
  assert.equal(describeIdentity({ ...user, identityType: 'Federated', arn: 'acs:ram::1:federated/x' }), 'Federated acs:ram::1:federated/x');
});

test('unknown identities say so, and why', () => {
  for (const reason of ['notFetched', 'failed', 'unsupported', 'notOAuth', 'signInRequired'] as const) {
    assert.match(identityText({ kind: 'unknown', reason }), /^identity unknown/);
  }
  assert.equal(identityText({ kind: 'unknown', reason: 'failed' }), 'identity unknown (the lookup failed)');
  assert.deepEqual(identityTooltipLines({ kind: 'unknown', reason: 'notFetched' }), ['Identity: identity unknown \\(not looked up yet\\)']);
});

test('what is shown for a profile, from what was remembered', () => {
  assert.deepEqual(identityState(oauth('dev'), { kind: 'known', identity: user }, false), known(user));
  assert.deepEqual(identityState(oauth('dev'), undefined, false), { kind: 'unknown', reason: 'notFetched' });
  assert.deepEqual(identityState(oauth('dev'), { kind: 'failed', at: NOW }, false), { kind: 'unknown', reason: 'failed' });
  assert.deepEqual(identityState(oauth('dev'), undefined, true), { kind: 'unknown', reason: 'unsupported' });
  assert.deepEqual(identityState(ak('ak1'), undefined, false), { kind: 'unknown', reason: 'notOAuth' });
  assert.deepEqual(identityState(oauth('dev', { state: 'signInRequired' }), undefined, false), { kind: 'unknown', reason: 'signInRequired' });
});

test('when to look up: once per profile, a failure again after a while, never AK or dead profiles', () => {
  assert.equal(shouldLookUp(oauth('dev'), undefined, false, NOW), true);
  assert.equal(shouldLookUp(oauth('dev', { state: 'refreshable' }), undefined, false, NOW), true);
  assert.equal(shouldLookUp(oauth('dev'), { kind: 'known', identity: user }, false, NOW), false);
  assert.equal(shouldLookUp(oauth('dev'), { kind: 'failed', at: NOW }, false, NOW + 5), false);
  assert.equal(shouldLookUp(oauth('dev'), { kind: 'failed', at: NOW }, false, NOW + RETRY_AFTER_SECONDS), true);
  assert.equal(shouldLookUp(oauth('dev'), undefined, true, NOW), false);
  assert.equal(shouldLookUp(ak('ak1'), undefined, false, NOW), false);
  assert.equal(shouldLookUp(oauth('dev', { state: 'signInRequired' }), undefined, false, NOW), false);
  assert.equal(shouldLookUp(undefined, undefined, false, NOW), false);
});

test('method not found is recognised', () => {
  assert.equal(isMethodNotFound({ code: -32601, message: 'Method Not Found: aliyun/whoAmI' }), true);
  assert.equal(isMethodNotFound({ code: -32030, data: { kind: 'network' } }), false);
  assert.equal(isMethodNotFound(undefined), false);
});

test('the status bar tooltip shows the identity and the ARN', () => {
  const v = statusView({ kind: 'running' }, list('dev', oauth('dev')), NOW, fmt, () => known(user));
  assert.match(v.tooltip, /Identity: RAM user dev in account 1234567890123456/);
  assert.match(v.tooltip, /ARN: `acs:ram::1234567890123456:user\/dev`/);
  const r = statusView({ kind: 'running' }, list('ops', oauth('ops')), NOW, fmt, () => known(role));
  assert.match(r.tooltip, /Identity: role dev\\-role \\\(session x\\\) in account 5555666677778888/);
  // Without a lookup: unknown, said so.
  assert.match(statusView({ kind: 'running' }, list('dev', oauth('dev')), NOW, fmt).tooltip, /Identity: identity unknown/);
});

test('picker rows carry the identity in their detail; unknown ones say so', () => {
  const rows = pickerRows(list('dev', oauth('dev'), oauth('prod'), ak('ak1')), NOW, (e) =>
    e.name === 'dev' ? known(user) : identityState(e, undefined, false),
  );
  assert.deepEqual(
    rows.map((r) => r.detail),
    ['RAM user dev in account 1234567890123456', 'identity unknown (not looked up yet)', 'identity unknown (not looked up for profiles of other modes)', undefined],
  );
});

test('Who Am I detail: every fact on its own line, nothing cut', () => {
  const d = identityDetail({ profile: 'p', accountId: '1234', identityType: 'RAMUser', arn: 'acs:ram::1234:user/dev', principalId: '2000', userId: '2000' });
  assert.equal(d, 'ARN: acs:ram::1234:user/dev\nAccount: 1234\nType: RAMUser\nPrincipal id: 2000\nUser id: 2000');
});
