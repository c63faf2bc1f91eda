/**
 * Every error kind of the contract (the generated ERROR_KINDS, from contract/aliyun-sidecar.contract.json)
 * has its own sentence in errorModel: a kind added to the contract without one fails here.
 */

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ERROR_CODES, ERROR_KINDS } from '../src/model/contract';
import { describeError, SENTENCES } from '../src/model/errorModel';

const answer = (kind: string): unknown => ({ code: ERROR_CODES[kind as keyof typeof ERROR_CODES] ?? -32603, message: 'server text', data: { kind } });

test('the generated kind list is the contract\'s (non-empty, no duplicates)', () => {
  assert.ok(ERROR_KINDS.length >= 18);
  assert.equal(new Set(ERROR_KINDS).size, ERROR_KINDS.length);
});

test('every error kind of the contract has a sentence of its own, not the fallback', () => {
  const fallback = describeError(answer('aKindNoContractHas'));
  assert.ok(fallback, 'the fallback says something');
  for (const kind of ERROR_KINDS) {
    assert.notDeepEqual(describeError(answer(kind)), fallback, `errorModel has no sentence for "${kind}"`);
  }
});

test('the sentence table is keyed by exactly the contract\'s kinds (a new kind needs its sentence)', () => {
  assert.deepEqual(Object.keys(SENTENCES).sort(), [...ERROR_KINDS].sort());
  for (const kind of ERROR_KINDS) assert.equal(typeof SENTENCES[kind], 'function', kind);
});
