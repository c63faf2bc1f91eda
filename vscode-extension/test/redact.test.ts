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

test('PascalCase, camelCase and snake_case secret keys are redacted, in JSON and in key=value text', () => {
  const out = redact(
    '{"AccessKeyId": "STS.NUq", "AccessKeySecret": "pascal-secret", "SecurityToken": "pascal-token", "sts_token": "snake-token", "oauth_refresh_token": "rt-1", "RequestId": "keep-me"}',
  );
  assert.doesNotMatch(out, /pascal-secret|pascal-token|snake-token|rt-1|STS\.NUq/);
  assert.match(out, /"RequestId": "keep-me"/);
  const text = redact('error: bad grant refresh_token=rt-abc; AccessKeySecret: ak-secret-1 accessTokenExpiresAt=17000');
  assert.doesNotMatch(text, /rt-abc|ak-secret-1/);
  assert.match(text, /accessTokenExpiresAt=17000/);
});

test('bare token-looking values are redacted without a label: JWTs, STS tokens, key ids, long opaque tokens', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ';
  const sts = 'CAIS8gF1q6Ft5B2yfSjIr5bkKN3Hg+9D0qOkb2TllkUmT8ZEgLvBkzz2IHhMf3NuAe0Zsvg+mGBU7/gYlqJ4T55IQ1Dxc8gqr6ZyJjA==';
  const opaque = 'Zk3vQ9mB_x7pL2aN4cRt8yWq1eH6uJd0sFgVb5nM3oPz';
  for (const secret of [jwt, sts, opaque, 'STS.NUqTw6gZ8sbYfWz1kQ3hT7xA', 'LTAI5tFq9Xz8WmP2kLrV7nBc']) {
    const out = redact(`refresh failed (${secret}) after echo`);
    assert.ok(!out.includes(secret), out);
    assert.match(out, /^refresh failed \(<redacted>\) after echo$/);
  }
});

test('paths, request ids and ordinary words with no token shape are kept', () => {
  for (const line of [
    'Launcher for terminals and process_command: /home/me/.config/Code/User/globalStorage/aliyun-sidecar.aliyun-sidecar/bin/aliyun-sidecar',
    'requestId 0F3A5B7C-1D2E-4F60-8A9B-C0D1E2F3A4B5 failed',
    'Starting the sidecar: Python 3.11.7 "/usr/bin/python3", code from the extension (/home/u/.vscode/extensions/aliyun-sidecar.aliyun-sidecar-0.1.0/bundled/libs)',
    'C:\\Users\\John Smith\\AppData\\Roaming\\Code\\User\\globalStorage\\aliyun-sidecar.aliyun-sidecar\\bin',
  ]) {
    assert.equal(redact(line), line);
  }
});
