import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';
import { bankApi, createGatewayHarness, type GatewayHarness, verifiedKey } from './gateway-harness.ts';

// Issue 10 #13: answers to a valid key that fail routing carry RateLimit headers and are metered.
for (const dialect of testDialects()) {
  describe(`answers that fail routing under an API (${dialect})`, () => {
    let h: GatewayHarness;
    before(async () => {
      h = await createGatewayHarness({ dialect, apis: [bankApi()] });
      h.keys.set('good', { ok: true, key: verifiedKey() });
    });
    after(() => h.close());

    const meteredAs = (status: number) =>
      waitFor(() => h.usage.find((event) => event.api === 'bank' && event.status === status));

    test('405 on a known path with a valid key: Allow, RateLimit headers, metered', async () => {
      const response = await h.http.inject({
        method: 'DELETE',
        url: '/bank/accounts',
        headers: { 'api-key': 'good' },
      });
      assert.equal(response.statusCode, 405);
      assert.equal(response.headers.allow, 'GET, OPTIONS');
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(response.json().type, 'https://gw.test/errors/methodNotAllowed');
      assert.equal(response.headers['ratelimit-policy'], '"burst";q=1000;w=1, "daily";q=1000000;w=86400');
      assert.match(String(response.headers.ratelimit), /^"burst";r=\d+;t=\d+$/);
      const event = await meteredAs(405);
      assert.equal(event.operationId, 'bank.unrouted');
      assert.equal(event.abuseExempt, true, 'a wrong path never counts toward abuse');
    });

    test('404 on an unknown route with a valid key: RateLimit headers, metered, body never parsed', async () => {
      const response = await h.http.inject({
        method: 'POST',
        url: '/bank/debug',
        headers: { 'api-key': 'good', 'content-type': 'application/json' },
        payload: '{not json',
      });
      assert.equal(response.statusCode, 404);
      assert.equal(response.json().type, 'https://gw.test/errors/notFound');
      assert.match(String(response.headers.ratelimit), /^"burst";r=\d+;t=\d+$/);
      assert.ok(response.headers['x-request-id']);
      await meteredAs(404);
    });

    test('without a key, or with a bad one, routing answers alone (no RateLimit, not metered)', async () => {
      const before = h.usage.length;
      const none = await h.http.inject({ method: 'GET', url: '/bank/swagger' });
      assert.equal(none.statusCode, 404);
      assert.equal(none.headers.ratelimit, undefined);
      const bad = await h.http.inject({
        method: 'GET',
        url: '/bank/swagger',
        headers: { 'api-key': 'nope' },
      });
      assert.equal(bad.statusCode, 404);
      assert.equal(bad.headers.ratelimit, undefined);
      const wrongMethod = await h.http.inject({ method: 'PUT', url: '/bank/products' });
      assert.equal(wrongMethod.statusCode, 405);
      assert.equal(wrongMethod.headers.ratelimit, undefined);
      assert.equal(h.usage.length, before);
    });
  });
}
