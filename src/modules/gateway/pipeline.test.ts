import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createBankHarness,
  type GatewayHarness,
  BANK_KEY as KEY,
  normalized,
  OTHER_APP_KEY,
  verifiedKey,
} from '../../../test/gateway/gateway-harness.ts';
import { testDialects } from '../../../test/helpers/test-app.ts';

/** DESIGN.md §1 rows 1–7 and 9: keys, tokens, scopes, rate limits and metering, in onRequest. */
for (const dialect of testDialects()) {
  describe(`gateway security pipeline (${dialect})`, () => {
    let h: GatewayHarness;
    let token: string;
    before(async () => {
      ({ h, token } = await createBankHarness(dialect));
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
