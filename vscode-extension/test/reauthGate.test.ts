import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReauthGate, sessionEndedMessage } from '../src/model/reauthGate';

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

test('the prompt names the profile whose session ended and what signing in again keeps', () => {
  assert.equal(
    sessionEndedMessage('dev'),
    'Your Alibaba Cloud session for profile "dev" has ended. Sign in again to keep its credentials fresh.',
  );
});
