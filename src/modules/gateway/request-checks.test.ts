import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createBankHarness,
  type GatewayHarness,
  BANK_KEY as KEY,
  normalized,
} from '../../../test/gateway/gateway-harness.ts';
import { testDialects } from '../../../test/helpers/test-app.ts';

/** After the security pipeline: entitlements, validation, the generated root/apiDoc and CORS. */
for (const dialect of testDialects()) {
  describe(`gateway request checks and generated operations (${dialect})`, () => {
    let h: GatewayHarness;
    let token: string;
    before(async () => {
      ({ h, token } = await createBankHarness(dialect));
    });
    after(() => h.close());

    const get = (url: string, headers: Record<string, string> = {}) =>
      h.http.inject({ method: 'GET', url, headers });
    const auth = (t: string = token) => ({ 'api-key': KEY, authorization: `Bearer ${t}` });

    test('answers "not entitled", "does not exist" and malformed ids with identical 404s', async () => {
      const notEntitled = await get('/bank/accounts/acc-of-bob', auth());
      const missing = await get('/bank/accounts/NoSuchAccount', auth());
      const malformed = await get('/bank/accounts/..%2F..%2Fetc', auth());
      const tooLong = await get(`/bank/accounts/${'a'.repeat(65)}`, auth());
      for (const response of [notEntitled, missing, malformed, tooLong]) {
        assert.equal(response.statusCode, 404);
        assert.equal(response.json().type, 'https://gw.test/errors/notFound');
      }
      const a = normalized(notEntitled);
      const b = normalized(missing);
      assert.deepEqual(a, b);
      assert.equal(notEntitled.headers['content-length'], malformed.headers['content-length']);
    });

    test('resolves a transfer to its source account before checking the entitlement', async () => {
      assert.equal((await get('/bank/transfers/tr1', auth())).statusCode, 200);
      assert.equal((await get('/bank/transfers/tr2', auth())).statusCode, 404);
    });

    test('gives list operations only the entitled ids', async () => {
      const response = await get('/bank/accounts', auth());
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json().items, ['acc1', 'acc2']);
    });

    test('answers body references with the declared 422 and 403 problems', async () => {
      const write = await h.sign({ scope: 'banking/write' });
      const post = (source: string) =>
        h.http.inject({
          method: 'POST',
          url: '/bank/transfers',
          headers: { ...auth(write), 'idempotency-key': 'k1' },
          payload: {
            sourceAccount: { id: source },
            targetAccount: { id: 'x' },
            amount: { value: '1.00', currency: 'USD' },
          },
        });
      const invisible = await post('acc-of-bob');
      assert.equal(invisible.statusCode, 422);
      assert.equal(invisible.json().type, 'https://gw.test/errors/invalidAccountId');
      const notPermitted = await post('acc2');
      assert.equal(notPermitted.statusCode, 403);
      assert.equal(notPermitted.json().type, 'https://gw.test/errors/cannotTransferFrom');
      assert.equal((await post('acc1')).statusCode, 201);
    });

    test('validates bodies, headers and queries after authentication, with errors[]', async () => {
      const write = await h.sign({ scope: 'banking/write' });
      const unauthenticated = await h.http.inject({
        method: 'POST',
        url: '/bank/transfers',
        payload: { bad: true },
      });
      assert.equal(unauthenticated.statusCode, 401);
      const unknownField = await h.http.inject({
        method: 'POST',
        url: '/bank/transfers',
        headers: { ...auth(write), 'idempotency-key': 'k2' },
        payload: {
          sourceAccount: { id: 'acc1' },
          targetAccount: { id: 'x' },
          amount: { value: '1.00', currency: 'USD' },
          extra: 1,
        },
      });
      assert.equal(unknownField.statusCode, 400);
      assert.deepEqual(unknownField.json().errors, [
        { in: 'body', name: 'extra', message: 'is not a recognised field' },
      ]);
      const readOnly = await h.http.inject({
        method: 'POST',
        url: '/bank/transfers',
        headers: { ...auth(write), 'idempotency-key': 'k3' },
        payload: {
          id: 'mine',
          sourceAccount: { id: 'acc1' },
          targetAccount: { id: 'x' },
          amount: { value: '1.00', currency: 'USD' },
        },
      });
      assert.equal(readOnly.statusCode, 400);
      assert.deepEqual(readOnly.json().errors, [{ in: 'body', name: 'id', message: 'is read-only' }]);
      const deep = await h.http.inject({
        method: 'POST',
        url: '/bank/transfers',
        headers: { ...auth(write), 'idempotency-key': 'k4', 'content-type': 'application/json' },
        payload: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      });
      assert.equal(deep.statusCode, 400);
      const noIdempotencyKey = await h.http.inject({
        method: 'POST',
        url: '/bank/transfers',
        headers: auth(write),
        payload: {
          sourceAccount: { id: 'acc1' },
          targetAccount: { id: 'x' },
          amount: { value: '1.00', currency: 'USD' },
        },
      });
      assert.equal(noIdempotencyKey.statusCode, 400);
      assert.equal(noIdempotencyKey.json().errors[0].in, 'header');
      assert.equal(noIdempotencyKey.json().errors[0].name, 'Idempotency-Key');
      const bigLimit = await get('/bank/accounts?limit=1001', auth());
      assert.equal(bigLimit.statusCode, 400);
      assert.equal(bigLimit.json().errors[0].in, 'query');
      const unknownQuery = await get('/bank/accounts?surprise=1', auth());
      assert.equal(unknownQuery.statusCode, 400);
    });

    test('answers 415 for an undeclared media type and 413 above the declared upload size', async () => {
      const profile = await h.sign({ scope: 'profile/write' });
      const wrongType = await h.http.inject({
        method: 'POST',
        url: '/bank/documents',
        headers: { ...auth(profile), 'content-type': 'application/json' },
        payload: '{}',
      });
      assert.equal(wrongType.statusCode, 415);
      const ok = await h.http.inject({
        method: 'POST',
        url: '/bank/documents',
        headers: { ...auth(profile), 'content-type': 'application/pdf' },
        payload: Buffer.alloc(1000),
      });
      assert.equal(ok.statusCode, 201);
      assert.deepEqual(ok.json().body, { bytes: 1000 });
      const tooBig = await h.http.inject({
        method: 'POST',
        url: '/bank/documents',
        headers: { ...auth(profile), 'content-type': 'application/pdf' },
        payload: Buffer.alloc(4096),
      });
      assert.equal(tooBig.statusCode, 413);
    });

    test('serves the API root with HAL links and the apiDoc with real URLs, API key only', async () => {
      assert.equal((await get('/bank/')).statusCode, 401);
      const root = await get('/bank/', { 'api-key': KEY });
      assert.equal(root.statusCode, 200);
      assert.equal(root.json()._links.accounts.href, 'https://gw.test/bank/accounts');
      assert.equal(root.json()._links.apiDoc.href, 'https://gw.test/bank/apiDoc');
      const doc = (await get('/bank/apiDoc', { 'api-key': KEY })).json();
      assert.deepEqual(doc.servers[0].url, 'https://gw.test/bank');
      assert.equal(doc.components.securitySchemes.apiKey.name, 'API-Key');
      assert.equal(
        doc.components.securitySchemes.accessToken.flows.authorizationCode.tokenUrl,
        'https://gw.test/auth/oauth2/token',
      );
      assert.ok(doc.paths['/apiDoc'] && doc.paths['/accounts/{accountId}']);
    });

    test('answers CORS only for origins registered on the calling application', async () => {
      const allowed = await get('/bank/products', { 'api-key': KEY, origin: 'https://app-a.example' });
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app-a.example');
      assert.equal(allowed.headers['access-control-allow-credentials'], undefined);
      const other = await get('/bank/products', { 'api-key': KEY, origin: 'https://evil.example' });
      assert.equal(other.statusCode, 403);
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const opaque = await get('/bank/products', { 'api-key': KEY, origin: 'null' });
      assert.equal(opaque.statusCode, 403);
      const preflight = (origin: string) =>
        h.http.inject({
          method: 'OPTIONS',
          url: '/bank/accounts/acc1',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'api-key',
          },
        });
      const ok = await preflight('https://app-a.example');
      assert.equal(ok.statusCode, 204);
      assert.equal(ok.headers['access-control-allow-origin'], 'https://app-a.example');
      assert.match(String(ok.headers['access-control-allow-headers']), /API-Key/);
      assert.equal((await preflight('https://evil.example')).statusCode, 403);
      assert.equal((await preflight('null')).headers['access-control-allow-origin'], undefined);
    });
  });
}
