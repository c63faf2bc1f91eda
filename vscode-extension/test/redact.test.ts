import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { redact, REDACTED, stderrLevel } from '../src/model/redact';

test('getCredentials trace entries keep their header only', () => {
  const entry = "Received response 'aliyun/getCredentials - (7)' in 12ms.\nResult: {\n    \"accessKeyId\": \"STS.abc\",\n    \"accessKeySecret\": \"s3cr3t\"\n}";
  const out = redact(entry);
  assert.match(out, /^Received response 'aliyun\/getCredentials - \(7\)' in 12ms\./);
  assert.doesNotMatch(out, /s3cr3t|STS\.abc/);
});

test("the credentials endpoint's secret path never reaches the log (trace body, or any line naming its URI)", () => {
  const secret = 'Zk3vQ9mB_x7pL2aN-4cRt8yWq1eH6uJd0sFgVb5nM3o';
  const uri = `http://127.0.0.1:40123/${secret}/credentials`;
  const entry = `Received response 'aliyun/credentialsEndpoint - (4)' in 3ms.\nResult: {\n    "uri": "${uri}",\n    "environment": {"ALIBABA_CLOUD_CREDENTIALS_URI": "${uri}"}\n}`;
  const out = redact(entry);
  assert.match(out, /^Received response 'aliyun\/credentialsEndpoint - \(4\)' in 3ms\./);
  assert.doesNotMatch(out, new RegExp(secret));
  const line = redact(`terminal variable ALIBABA_CLOUD_CREDENTIALS_URI=${uri}; per profile http://localhost:40123/${secret}/profiles/dev/credentials`);
  assert.doesNotMatch(line, new RegExp(secret));
  assert.match(line, new RegExp(`http://127\\.0\\.0\\.1:40123/${REDACTED}/credentials`));
});

test('secret fields are redacted in any message', () => {
  const out = redact('Result: {"profile":"dev","securityToken":"tok\\"en","accessKeySecret":"x","name":"keep"}');
  assert.equal(out, `Result: {"profile":"dev","securityToken":"${REDACTED}","accessKeySecret":"${REDACTED}","name":"keep"}`);
});

test('authorization codes in a pasted redirect URL are redacted, state is kept', () => {
  const out = redact('Params: {"url": "http://127.0.0.1:12345/cli/callback?code=AUTHCODE123&state=abc"}');
  assert.doesNotMatch(out, /AUTHCODE123/);
  assert.match(out, /state=abc/);
});

test('ordinary lines are untouched', () => {
  const line = "Sending request 'aliyun/listProfiles - (1)'.";
  assert.equal(redact(line), line);
});

test('stderr lines get a level from the sidecar log line', () => {
  assert.equal(stderrLevel('2026-01-01 ERROR sidecar.rpc boom'), 'error');
  assert.equal(stderrLevel('Traceback (most recent call last):'), 'error');
  assert.equal(stderrLevel('WARNING slow'), 'warn');
  assert.equal(stderrLevel('DEBUG x'), 'debug');
  assert.equal(stderrLevel('INFO started'), 'info');
});
