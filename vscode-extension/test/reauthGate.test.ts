import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReauthGate } from '../src/model/reauthGate';

test('one prompt per transition, never stacked', () => {
  const g = new ReauthGate();
  assert.ok(g.shouldPrompt('dev'));
  assert.ok(!g.shouldPrompt('dev'), 'same profile again: no second prompt');
  assert.ok(!g.shouldPrompt('prod'), 'another profile while one prompt is open: not stacked');
  g.closed();
  assert.ok(!g.shouldPrompt('dev'), 'dismissed: not asked again until it is usable again');
  assert.ok(g.shouldPrompt('prod'));
  g.closed();
});

test('re-armed when the profile is usable again', () => {
  const g = new ReauthGate();
  assert.ok(g.shouldPrompt('dev'));
  g.closed();
  g.observe([{ name: 'dev', state: 'signInRequired' }]);
  assert.ok(!g.shouldPrompt('dev'));
  g.observe([{ name: 'dev', state: 'valid' }]);
  assert.ok(g.shouldPrompt('dev'));
  g.closed();
  g.reset('dev');
  assert.ok(g.shouldPrompt('dev'));
});
