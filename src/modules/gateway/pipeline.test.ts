import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  bankApi,
  createGatewayHarness,
  type GatewayHarness,
  verifiedKey,
} from '../../../test/gateway/gateway-harness.ts';
import { normalized } from '../../../test/helpers/assertions.ts';
import { testDialects } from '../../../test/helpers/test-app.ts';

const KEY = 'key-a-plaintext';
const OTHER_APP_KEY = 'key-b-plaintext';

for (const dialect of testDialects()) {
  describe(`gateway security pipeline (${dialect})`, () => {
    let h: GatewayHarness;
    let token: string;
    before(async () => {
      h = await createGatewayHarness({ dialect, apis: [bankApi()] });
      h.keys.set(KEY, { ok: true, key: verifiedKey() });
      h.keys.set(OTHER_APP_KEY, {
        ok: true,
        key: verifiedKey({ keyId: 'key_b', applicationId: 'app_b', clientId: 'client_b' }),
      });
      h.keys.set('revoked-key', { ok: false, reason: 'revoked' });
      h.keys.set('expired-key', { ok: false, reason: 'expired' });
      h.keys.set('pending-key', { ok: false, reason: 'pending' });
      h.keys.set('suspended-app-key', { ok: false, reason: 'applicationSuspended' });
      h.keys.set('unsubscribed-key', { ok: true, key: verifiedKey({ keyId: 'key_u', apis: ['other'] }) });
      await h.t.app.services.entitlements.grant({
        subject: 'usr_alice',
        resource: 'account',
        resourceId: 'acc1',
        permissions: ['view', 'transferFrom'],
        relationship: 'owner',
      });
      await h.t.app.services.entitlements.grant({
        subject: 'usr_alice',
        resource: 'account',
        resourceId: 'acc2',
        permissions: ['view'],
        relationship: 'coOwner',
      });
      token = await h.sign();
    });
    after(() => h.close());

    const get = (url: string, headers: Record<string, string> = {}) =>
      h.http.inject({ method: 'GET', url, headers });
    const auth = (t: string = token) => ({ 'api-key': KEY, authorization: `Bearer ${t}` });

    test('answers an entitled request with the handler result and the verified identity', async () => {
      const response = await get('/bank/accounts/acc1', auth());
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.subject, 'usr_alice');
      assert.equal(body.keyId, 'key_a');
      assert.deepEqual(body.params, { accountId: 'acc1' });
      // Credentials never reach handlers.
      assert.deepEqual(body.headers, { apiKey: null, authorization: null });
    });

    test('rejects a request without API key with 401 and the APIKey challenge', async () => {
      const response = await get('/bank/accounts/acc1', { authorization: `Bearer ${token}` });
      assert.equal(response.statusCode, 401);
      assert.equal(response.headers['www-authenticate'], 'APIKey realm="strongroom"');
      assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
      assert.equal(response.json().type, 'https://gw.test/errors/unauthorized');
    });

    test('answers unknown, malformed, revoked and expired keys identically', async () => {
      const answers = [];
      for (const key of ['no-such-key', 'revoked-key', 'expired-key', 'x'.repeat(300)]) {
        const response = await get('/bank/accounts/acc1', {
          'api-key': key,
          authorization: `Bearer ${token}`,
        });
        assert.equal(response.statusCode, 401);
        answers.push(normalized(response));
      }
      for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
      assert.equal(answers[0]?.headers['www-authenticate'], 'APIKey realm="strongroom"');
    });

    test('refuses a pending key, a suspended application and an unsubscribed key with 403', async () => {
      for (const key of ['pending-key', 'suspended-app-key', 'unsubscribed-key']) {
        const response = await get('/bank/accounts/acc1', {
          'api-key': key,
          authorization: `Bearer ${token}`,
        });
        assert.equal(response.statusCode, 403, key);
        assert.equal(response.json().type, 'https://gw.test/errors/forbidden');
        assert.equal(response.headers['www-authenticate'], undefined);
      }
    });

    test('asks for a token with the needed scopes when Authorization is missing', async () => {
      const response = await get('/bank/accounts/acc1/balance', { 'api-key': KEY });
      assert.equal(response.statusCode, 401);
      assert.equal(
        response.headers['www-authenticate'],
        'Bearer realm="strongroom", scope="banking/read banking/readBalance"',
      );
    });

    test('ignores credentials in the query string', async () => {
      const response = await get(`/bank/accounts/acc1?access_token=${token}&api_key=${KEY}`);
      assert.equal(response.statusCode, 401);
      assert.equal(response.headers['www-authenticate'], 'APIKey realm="strongroom"');
      const withKey = await get(`/bank/accounts/acc1?access_token=${token}`, { 'api-key': KEY });
      assert.equal(withKey.statusCode, 401);
      assert.equal(withKey.headers['www-authenticate'], 'Bearer realm="strongroom", scope="banking/read"');
      assert.doesNotMatch(h.t.logs.text(), new RegExp(token.slice(-20)));
    });

    test('accepts header names and the Bearer scheme in any case', async () => {
      const response = await get('/bank/accounts/acc1', { 'API-KEY': KEY, Authorization: `bEaReR ${token}` });
      assert.equal(response.statusCode, 200);
    });

    test('rejects forged and mis-addressed tokens with invalid_token', async () => {
      const [, payload] = token.split('.');
      const tampered = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
      tampered.sub = 'usr_bob';
      const parts = token.split('.');
      const header = (h: object) => Buffer.from(JSON.stringify(h)).toString('base64url');
      const body = Buffer.from(JSON.stringify(tampered)).toString('base64url');
      const { createHmac } = await import('node:crypto');
      const hsInput = `${header({ alg: 'HS256', typ: 'at+jwt' })}.${parts[1]}`;
      const hs256 = `${hsInput}.${createHmac('sha256', JSON.stringify(h.publicJwk)).update(hsInput).digest('base64url')}`;
      const attackerToken = async () => {
        const { generateKeyPair, exportJWK, SignJWT } = await import('jose');
        const attacker = await generateKeyPair('ES256', { extractable: true });
        const claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString());
        return new SignJWT(claims)
          .setProtectedHeader({
            alg: 'ES256',
            typ: 'at+jwt',
            kid: 'test-key-1',
            jwk: await exportJWK(attacker.publicKey),
          })
          .sign(attacker.privateKey);
      };
      const cases: Record<string, string> = {
        garbage: 'not-a-jwt',
        algNone: `${header({ alg: 'none', typ: 'at+jwt' })}.${parts[1]}.`,
        hs256WithPublicKey: hs256,
        tamperedPayload: `${parts[0]}.${body}.${parts[2]}`,
        wrongTyp: await h.sign({}, { typ: 'JWT' }),
        otherAudience: await h.sign({ aud: 'https://elsewhere.example/' }),
        otherIssuer: await h.sign({ iss: 'https://evil.example/auth' }),
        notYetValid: await h.sign({ nbf: Math.floor(h.clock.now() / 1000) + 120 }),
        noClientId: await h.sign({ client_id: undefined }),
        embeddedAttackerJwk: await attackerToken(),
      };
      for (const [name, bad] of Object.entries(cases)) {
        const response = await get('/bank/accounts/acc1', auth(bad));
        assert.equal(response.statusCode, 401, name);
        assert.equal(
          response.headers['www-authenticate'],
          'Bearer realm="strongroom", error="invalid_token"',
          name,
        );
        assert.equal(response.json().type, 'https://gw.test/errors/unauthorized', name);
      }
    });

    test('answers sessionExpired for an expired token, even one verified before', async () => {
      const soon = await h.sign({ exp: Math.floor(h.clock.now() / 1000) + 30 });
      assert.equal((await get('/bank/accounts/acc1', auth(soon))).statusCode, 200);
      h.clock.advance(60_000);
      try {
        const response = await get('/bank/accounts/acc1', auth(soon));
        assert.equal(response.statusCode, 401);
        assert.equal(response.json().type, 'https://gw.test/errors/sessionExpired');
        assert.equal(
          response.headers['www-authenticate'],
          'Bearer realm="strongroom", error="invalid_token"',
        );
      } finally {
        h.clock.advance(-60_000);
      }
    });

    test('refuses a cached token as soon as its grant is revoked', async () => {
      const revocable = await h.sign({ grant_id: 'grant_revocable' });
      assert.equal((await get('/bank/accounts/acc1', auth(revocable))).statusCode, 200);
      h.revoked.add('grant_revocable');
      const response = await get('/bank/accounts/acc1', auth(revocable));
      assert.equal(response.statusCode, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="strongroom", error="invalid_token"');
    });

    test("refuses a token issued to another application than the key's with 403", async () => {
      const response = await get('/bank/accounts/acc1', {
        'api-key': OTHER_APP_KEY,
        authorization: `Bearer ${token}`,
      });
      assert.equal(response.statusCode, 403);
      assert.equal(response.headers['www-authenticate'], undefined);
    });

    test('refuses a token without a required scope with 403 insufficient_scope', async () => {
      const response = await get('/bank/accounts/acc1/balance', auth());
      assert.equal(response.statusCode, 403);
      assert.equal(
        response.headers['www-authenticate'],
        'Bearer realm="strongroom", error="insufficient_scope", scope="banking/read banking/readBalance"',
      );
    });

    test('treats banking/full as every banking scope', async () => {
      await h.t.app.services.entitlements.grant({
        subject: 'usr_alice',
        resource: 'account',
        resourceId: 'acc1',
        permissions: ['viewBalance'],
        relationship: 'owner',
      });
      const full = await h.sign({ scope: 'banking/full' });
      const response = await get('/bank/accounts/acc1/balance', auth(full));
      assert.equal(response.statusCode, 200);
      assert.ok(response.json().scopes.includes('banking/readBalance'));
    });

    test('passes when any security alternative passes, else answers the first one', async () => {
      const data = await h.sign({ scope: 'data/read' });
      assert.equal((await get('/bank/either', auth(data))).statusCode, 200);
      const response = await get('/bank/either', auth());
      assert.equal(response.statusCode, 403);
      assert.equal(
        response.headers['www-authenticate'],
        'Bearer realm="strongroom", error="insufficient_scope", scope="profile/read"',
      );
    });

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

    test('puts RateLimit headers on every answer to a request with a valid key', async () => {
      for (const response of [
        await get('/bank/accounts/acc1', auth()),
        await get('/bank/accounts/acc1', { 'api-key': KEY }),
        await get('/bank/accounts/unknown1', auth()),
      ]) {
        assert.equal(response.headers['ratelimit-policy'], '"burst";q=1000;w=1, "daily";q=1000000;w=86400');
        assert.match(response.headers.ratelimit as string, /^"burst";r=\d+;t=1$/);
      }
      assert.equal((await get('/bank/accounts/acc1')).headers.ratelimit, undefined);
    });

    test('answers 429 with Retry-After once the plan is exhausted, and meters it', async () => {
      h.keys.set('tiny-plan', {
        ok: true,
        key: verifiedKey({
          keyId: 'key_tiny',
          plan: { id: 'p', name: 'tiny', perSecond: 2, burst: 3, perDay: 1000 },
        }),
      });
      const statuses = [];
      // Sent concurrently so all fall into one one-second window even on a loaded machine.
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => get('/bank/products', { 'api-key': 'tiny-plan' })),
      );
      for (const response of responses) statuses.push(response.statusCode);
      const last = responses.find((response) => response.statusCode === 429);
      assert.deepEqual([...statuses].sort(), [200, 200, 200, 429, 429]);
      assert.equal(last?.json().type, 'https://gw.test/errors/tooManyRequests');
      assert.match(String(last?.headers['retry-after']), /^\d+$/);
      assert.equal(last?.headers['ratelimit-policy'], '"burst";q=3;w=1, "daily";q=1000;w=86400');
      const metered = h.usage.filter((event) => event.keyId === 'key_tiny').map((event) => event.status);
      assert.deepEqual(
        metered.sort((x, y) => x - y),
        [200, 200, 200, 429, 429],
      );
    });

    test('meters every answer attributable to a key, refusals with their reason', async () => {
      const before = h.usage.length;
      await get('/bank/accounts/acc1', { 'api-key': KEY });
      const event = h.usage[before];
      assert.equal(event?.status, 401);
      assert.equal(event?.keyId, 'key_a');
      assert.equal(event?.operationId, 'getAccount');
      assert.match(String(event?.reason), /^tokenMissing/);
    });

    test('ignores an Authorization header on an API-key-only operation', async () => {
      const response = await get('/bank/products', { 'api-key': KEY, authorization: 'Bearer garbage' });
      assert.equal(response.statusCode, 200);
    });

    test('serves an operation with empty security without any credentials', async () => {
      assert.equal((await get('/bank/open')).statusCode, 200);
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

    test('rejects a token signed by a key that was rotated out', async () => {
      const old = await h.sign({});
      assert.equal((await get('/bank/accounts/acc1', auth(old))).statusCode, 200);
      h.rotateKeys([]);
      try {
        assert.equal((await get('/bank/accounts/acc1', auth(old))).statusCode, 401);
      } finally {
        h.rotateKeys([h.publicJwk]);
      }
    });
  });
}
