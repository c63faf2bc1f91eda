import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { terminalVariables } from '../src/model/terminalModel';

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
