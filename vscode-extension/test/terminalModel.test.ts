import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { terminalVariables, withCredentialVariables } from '../src/model/terminalModel';

const endpoint = {
  uri: 'http://127.0.0.1:40123/s/credentials',
  environment: {
    ALIBABA_CLOUD_CREDENTIALS_URI: 'http://127.0.0.1:40123/s/credentials',
    ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true',
    ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
  },
};

test('terminal variables: the endpoint variables when injecting; never ALIBABA_CLOUD_PROFILE, so open terminals follow a switch', () => {
  assert.deepEqual(terminalVariables(endpoint, true), endpoint.environment);
  assert.ok(!('ALIBABA_CLOUD_PROFILE' in terminalVariables(endpoint, true)));
  // Even should a sidecar send it: the file's `current` decides.
  const withProfile = { ...endpoint, environment: { ...endpoint.environment, ALIBABA_CLOUD_PROFILE: 'dev' } };
  assert.ok(!('ALIBABA_CLOUD_PROFILE' in terminalVariables(withProfile, true)));
});

test('terminal variables: none without an endpoint or with injection off; only ALIBABA_CLOUD_* string values', () => {
  assert.deepEqual(terminalVariables(undefined, true), {});
  assert.deepEqual(terminalVariables(endpoint, false), {});
  const odd = { uri: 'x', environment: { PATH: '/evil', ALIBABA_CLOUD_X: 1 as unknown as string, alibaba_cloud_y: 'z' } };
  assert.deepEqual(terminalVariables(odd, true), {});
});

test('debug sessions: the credentials variables join the env; a key the configuration sets wins', () => {
  const vars = terminalVariables(endpoint, true);
  const config = { type: 'python', name: 'x', request: 'launch', env: { ALIBABA_CLOUD_CREDENTIALS_URI: 'mine', ALIBABA_CLOUD_ECS_METADATA_DISABLED: null, FOO: '1' } };
  const out = withCredentialVariables(config, vars);
  assert.deepEqual(out.env, {
    ALIBABA_CLOUD_CREDENTIALS_URI: 'mine',
    ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true',
    ALIBABA_CLOUD_ECS_METADATA_DISABLED: null,
    FOO: '1',
  });
  assert.equal(config.env.ALIBABA_CLOUD_CREDENTIALS_URI, 'mine', 'the given configuration is not changed');
  assert.equal(out.name, 'x');
  // No env yet (or null): the variables are the env.
  assert.deepEqual(withCredentialVariables({ type: 'node' }, vars), { type: 'node', env: vars });
  assert.deepEqual(withCredentialVariables({ type: 'node', env: null }, vars), { type: 'node', env: vars });
});

test('debug sessions: no endpoint (or injection off) leaves the configuration as it is; so does an env that is not an object', () => {
  const config = { type: 'node', env: { FOO: '1' } };
  assert.equal(withCredentialVariables(config, terminalVariables(undefined, true)), config);
  assert.equal(withCredentialVariables(config, terminalVariables(endpoint, false)), config);
  const vars = terminalVariables(endpoint, true);
  for (const env of ['FOO=1', ['FOO=1'], 42]) {
    const odd = { type: 'x', env };
    assert.equal(withCredentialVariables(odd, vars), odd);
  }
});
