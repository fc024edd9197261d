import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger, REDACTED, redactSecrets } from '../../src/http/logger.ts';
import { createLogCapture, createTestApp, type TestApp } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

const CANARY = 'CANARY-7f3a9c1e-secret';

describe('logs never contain secrets', () => {
  let t: TestApp;
  before(async () => {
    // Debug, so the health probes' request lines (debug since issue 13) are written too.
    t = await createTestApp({ args: ['--log-level', 'debug'] });
  });
  after(() => t.close());

  test('a canary in Authorization, API-Key, a cookie, a JSON password and the query string stays out of the logs', async () => {
    const headers = {
      authorization: `Bearer ${CANARY}`,
      'api-key': CANARY,
      cookie: `session=${CANARY}`,
      'content-type': 'application/json',
    };
    await t.app.http.inject({
      method: 'POST',
      url: `/nowhere?access_token=${CANARY}`,
      headers,
      payload: { password: CANARY },
    });
    await t.app.http.inject({ method: 'GET', url: `/health/ready?api_key=${CANARY}`, headers });
    await t.app.http.inject({ method: 'GET', url: `/accounts/accounts?code=${CANARY}`, headers });
    t.app.context.logger.flush();
    // The request line is written once the answer is sent.
    await waitFor(() => t.logs.entries().filter((e) => e.msg === 'request').length >= 3).catch(() => {});
    assert.ok(t.logs.lines.length >= 3, 'requests were logged');
    assert.equal(t.logs.text().includes(CANARY), false);
  });

  test('the request line has method, route, path without query, status, duration and request id', async () => {
    const res = await t.app.http.inject({ method: 'GET', url: '/health/live?x=1' });
    t.app.context.logger.flush();
    // The request line is written once the answer is sent.
    const line = await waitFor(() =>
      t.logs.entries().find((e) => e.requestId === res.headers['x-request-id'] && e.msg === 'request'),
    ).catch(() => undefined);
    assert.ok(line);
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/health/live');
    assert.equal(line.path, '/health/live');
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, 'number');
  });
});

describe('redaction', () => {
  test('secret-named fields are redacted at any depth, ids stay readable', () => {
    const out = redactSecrets({
      user: { password: 'p', newPassword: 'n', profile: { otp: '123456' } },
      client: { client_secret: 's', clientSecret: 's2', clientId: 'cli_1' },
      tokens: [{ access_token: 'a', refresh_token: 'r', id_token: 'i' }],
      headers: { authorization: 'Bearer x', 'api-key': 'k', cookie: 'c', 'set-cookie': ['c'] },
      apiKeyId: 'key_123',
      keyPrefix: 'sr_live',
      code: 'authcode',
      code_verifier: 'v',
    }) as Record<string, Record<string, unknown>>;
    const text = JSON.stringify(out);
    for (const secret of [
      '"p"',
      '"n"',
      '123456',
      '"s"',
      '"s2"',
      '"a"',
      '"r"',
      '"i"',
      'Bearer x',
      '"k"',
      'authcode',
      '"v"',
    ]) {
      assert.equal(text.includes(secret), false, `${secret} is redacted`);
    }
    assert.equal(out.apiKeyId, 'key_123' as unknown);
    assert.equal(out.keyPrefix, 'sr_live' as unknown);
    assert.equal(out.client?.clientId, 'cli_1');
    assert.equal(out.user?.password, REDACTED);
  });

  test('the logger applies redaction to everything it writes', async () => {
    const capture = createLogCapture();
    const logger = createLogger({ level: 'info', destination: capture.destination });
    logger.info({ body: { password: CANARY }, headers: { authorization: CANARY } }, 'something happened');
    logger.flush();
    await waitFor(() => capture.text().includes('something happened')).catch(() => {});
    assert.equal(capture.text().includes(CANARY), false);
    assert.match(capture.text(), /something happened/);
  });
});
