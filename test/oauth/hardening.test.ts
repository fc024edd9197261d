import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { generate } from 'otplib';
import {
  authorize,
  createCookieJar,
  decodeJwt,
  followAuthorization,
  jarFetch,
  parseForm,
  pkcePair,
  refresh,
  tokenRequest,
} from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';

const REDIRECT = 'https://client.example/cb';
const PASSWORD = 'a long and unusual passphrase';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const LOCKED = 'Too many failed attempts. Wait 15 minutes and try again, or contact the institution.';

/** Issue 10 hardening of the authorization server (DESIGN.md §5.1): one behaviour per test. */
for (const dialect of testDialects()) {
  describe(`authorization-server hardening (${dialect})`, () => {
    let t: DemoServer;
    let baseUrl: string;
    let client: { clientId: string; clientSecret: string };
    let users = 0;

    before(async () => {
      t = await startDemoServer({ dialect });
      baseUrl = t.baseUrl;
      client = (await t.app.services.oauth.clients.register({
        name: 'Back office',
        kind: 'confidential',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowedScopes: ['banking/read', 'data/read'],
        firstParty: true,
      })) as typeof client;
    });
    after(async () => {
      await t?.close();
    });

    const post = (jar: ReturnType<typeof createCookieJar>, url: string, values: Record<string, string>) =>
      jarFetch(jar, new URL(url, baseUrl).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(values).toString(),
      });

    /** An operator with TOTP enrolled (their role requires MFA). */
    async function newOperator(): Promise<{ id: string; username: string }> {
      users += 1;
      const identity = t.app.services.identity;
      const user = await identity.createUser({
        username: `op${users}`,
        password: PASSWORD,
        roles: ['teller'],
      });
      await identity.setTotpSecret(user.id, TOTP_SECRET);
      return { id: user.id, username: user.username };
    }

    /** A new interaction (a new browser) signed in with the password, at the second-factor page. */
    async function atSecondFactor(username: string) {
      const jar = createCookieJar();
      const url = new URL(`${baseUrl}/auth/oauth2/authorize`);
      const { challenge } = pkcePair();
      for (const [k, v] of Object.entries({
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: REDIRECT,
        scope: 'banking/read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }))
        url.searchParams.set(k, v);
      const start = await jarFetch(jar, url.href);
      const loginUrl = new URL(start.headers.get('location') as string, baseUrl).href;
      const login = parseForm(await (await jarFetch(jar, loginUrl)).text());
      const signedIn = await post(jar, login.action, { csrf: login.csrf, username, password: PASSWORD });
      assert.equal(signedIn.status, 303);
      const page = await jarFetch(jar, new URL(signedIn.headers.get('location') as string, baseUrl).href);
      const html = await page.text();
      assert.match(html, /name="otp"/);
      return { jar, ...parseForm(html) };
    }

    async function enterCode(username: string, otp: string) {
      const { jar, action, csrf } = await atSecondFactor(username);
      const response = await post(jar, action, { csrf, otp });
      return { response, body: await response.text() };
    }

    const wrongCode = async () => {
      const right = await generate({ secret: TOTP_SECRET, epoch: Math.floor(Date.now() / 1000) });
      return String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
    };

    const demoApp = (name: 'mobile' | 'backOffice') => {
      const app = t.demo.apps[name];
      assert.ok(app);
      return app;
    };
    const demoUser = (username: string) => {
      const user = t.demo.users.find((u) => u.username === username);
      assert.ok(user);
      return user;
    };

    /** An access token signed with the authorization server's real signing key (read from the store). */
    async function signAccessToken(claims: Record<string, unknown> = {}): Promise<string> {
      const material = await t.app.services.oauth.keys.material();
      const jwk = material.signing.find((k) => k.alg === 'ES256') as Record<string, unknown> & {
        kid: string;
      };
      const key = await importJWK(jwk as never, 'ES256');
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: `${baseUrl}/auth`,
        aud: `${baseUrl}/`,
        sub: demoUser('alice').id,
        client_id: demoApp('mobile').clientId,
        scope: 'banking/read',
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
        grant_id: randomUUID(),
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new SignJWT(payload as JWTPayload)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid })
        .sign(key);
    }

    /** `GET /accounts/accounts` with the mobile app's key and this token as Bearer. */
    const callApi = (token: string) =>
      fetch(`${baseUrl}/accounts/accounts`, {
        headers: { 'api-key': demoApp('mobile').apiKey as string, authorization: `Bearer ${token}` },
      });

    // ---- item 1: second-factor brute force --------------------------------------------------------

    it('counts wrong codes per account across interactions: the 5th locks the MFA step (429 + Retry-After)', async () => {
      const user = await newOperator();
      for (let i = 1; i <= 4; i++) {
        const { response } = await enterCode(user.username, await wrongCode());
        assert.equal(response.status, 401, `wrong code ${i} in a new interaction`);
      }
      const fifth = await enterCode(user.username, await wrongCode());
      assert.equal(fifth.response.status, 429);
      assert.ok(Number(fifth.response.headers.get('retry-after')) > 14 * 60);
      assert.ok(fifth.body.includes(LOCKED));
      const audited = await t.app.context.audit.list({ action: 'user.mfaLocked' });
      assert.ok(audited.some((event) => event.target.id === user.id));
    });

    it('a locked MFA step refuses even the right code in a sixth interaction', async () => {
      const user = await newOperator();
      for (let i = 1; i <= 5; i++) await enterCode(user.username, await wrongCode());
      const right = await generate({ secret: TOTP_SECRET, epoch: Math.floor(Date.now() / 1000) });
      const sixth = await enterCode(user.username, right);
      assert.equal(sixth.response.status, 429);
      assert.ok(Number(sixth.response.headers.get('retry-after')) > 0);
      assert.ok(sixth.body.includes(LOCKED));
      assert.equal(sixth.response.headers.get('location'), null);
    });

    it('a correct second factor resets the count', async () => {
      const user = await newOperator();
      for (let i = 1; i <= 4; i++) await enterCode(user.username, await wrongCode());
      const right = await generate({ secret: TOTP_SECRET, epoch: Math.floor(Date.now() / 1000) });
      const ok = await enterCode(user.username, right);
      assert.equal(ok.response.status, 303);
      for (let i = 1; i <= 4; i++) {
        const { response } = await enterCode(user.username, await wrongCode());
        assert.equal(response.status, 401, `wrong code ${i} after the reset`);
      }
    });

    // ---- item 5: DPoP is not offered until the gateway verifies proofs -------------------------------

    it('metadata does not offer DPoP', async () => {
      const response = await fetch(`${baseUrl}/auth/.well-known/openid-configuration`);
      const metadata = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 200);
      assert.equal(metadata.dpop_signing_alg_values_supported, undefined);
    });

    it('the token endpoint issues a Bearer token without cnf even when a DPoP proof is sent', async () => {
      const mobile = demoApp('mobile');
      const alice = demoUser('alice');
      const result = await authorize({
        baseUrl,
        clientId: mobile.clientId,
        redirectUri: mobile.redirectUri,
        username: alice.username,
        password: alice.password,
        scope: 'banking/read',
      });
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const proof = await new SignJWT({ htm: 'POST', htu: `${baseUrl}/auth/oauth2/token`, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
        .setIssuedAt()
        .sign(privateKey);
      const response = await fetch(`${baseUrl}/auth/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: mobile.clientId,
          code: result.code as string,
          redirect_uri: mobile.redirectUri,
          code_verifier: result.codeVerifier,
        }).toString(),
      });
      const tokens = (await response.json()) as { token_type: string; access_token: string };
      assert.equal(response.status, 200);
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(decodeJwt(tokens.access_token).payload.cnf, undefined);
      assert.equal((await callApi(tokens.access_token)).status, 200);
    });

    it('a token bound with cnf presented as Bearer is 401 with a DPoP challenge', async () => {
      assert.equal((await callApi(await signAccessToken())).status, 200, 'the same token without cnf passes');
      const bound = await signAccessToken({ cnf: { jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' } });
      const response = await callApi(bound);
      assert.equal(response.status, 401);
      assert.equal(
        response.headers.get('www-authenticate'),
        'DPoP realm="strongroom", error="invalid_token", algs="ES256 PS256"',
      );
      const problem = (await response.json()) as { type: string };
      assert.match(problem.type, /\/errors\/unauthorized$/);
    });

    // ---- item 6: self-registration --------------------------------------------------------------------

    it('registration creates at most 5 accounts per address an hour, then 429 + Retry-After', async () => {
      const jar = createCookieJar();
      const { action, csrf } = parseForm(await (await jarFetch(jar, `${baseUrl}/auth/register`)).text());
      const register = (username: string, password = PASSWORD) =>
        post(jar, action, { csrf, username, password });
      // A refused registration creates nothing and is not counted.
      assert.equal((await register('reg-weak', 'password1')).status, 400);
      for (let i = 1; i <= 5; i++) assert.equal((await register(`reg${i}`)).status, 303, `account ${i}`);
      const sixth = await register('reg6');
      assert.equal(sixth.status, 429);
      assert.ok(Number(sixth.headers.get('retry-after')) > 3500);
      assert.equal(await t.app.services.identity.getUser('reg6'), undefined);
    });

    // ---- item 11: token rules at the gateway (signed with the real key) -------------------------------

    const refusedAsInvalid = async (token: string) => {
      const response = await callApi(token);
      assert.equal(response.status, 401);
      assert.equal(
        response.headers.get('www-authenticate'),
        'Bearer realm="strongroom", error="invalid_token"',
      );
    };
    const nowSeconds = () => Math.floor(Date.now() / 1000);

    it('refuses a token whose iat is more than 60 s in the future', async () => {
      const ahead = nowSeconds() + 120;
      await refusedAsInvalid(await signAccessToken({ iat: ahead, exp: ahead + 300 }));
      const skewed = nowSeconds() + 30;
      assert.equal((await callApi(await signAccessToken({ iat: skewed, exp: skewed + 300 }))).status, 200);
    });

    it('refuses a token whose lifetime exceeds the longest configured access-token lifetime', async () => {
      const iat = nowSeconds();
      await refusedAsInvalid(await signAccessToken({ iat, exp: iat + 10 * 365 * 86400 }));
      await refusedAsInvalid(await signAccessToken({ iat, exp: iat + 301 }));
      assert.equal((await callApi(await signAccessToken({ iat, exp: iat + 300 }))).status, 200);
    });

    it('refuses a token without jti', async () => {
      await refusedAsInvalid(await signAccessToken({ jti: undefined }));
    });

    it('refuses a user token without grant_id, but not a client-credentials token', async () => {
      await refusedAsInvalid(await signAccessToken({ grant_id: undefined }));
      const mobile = demoApp('mobile');
      const service = await callApi(await signAccessToken({ sub: mobile.clientId, grant_id: undefined }));
      assert.notEqual(service.status, 401);
    });

    // ---- item 8: bearer secrets at rest -------------------------------------------------------------

    it('stores refresh tokens, codes, session and interaction ids only as digests, with no plaintext copy', async () => {
      const mobile = demoApp('mobile');
      const alice = demoUser('alice');
      const jar = createCookieJar();
      const { verifier, challenge } = pkcePair();
      const url = new URL(`${baseUrl}/auth/oauth2/authorize`);
      for (const [k, v] of Object.entries({
        response_type: 'code',
        client_id: mobile.clientId,
        redirect_uri: mobile.redirectUri,
        scope: 'openid offline_access banking/read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }))
        url.searchParams.set(k, v);
      const start = await jarFetch(jar, url.href);
      const interactionUrl = new URL(start.headers.get('location') as string, baseUrl).href;
      const interactionId = interactionUrl.split('/').at(-1) as string;
      const done = await followAuthorization(jar, interactionUrl, {
        baseUrl,
        redirectUri: mobile.redirectUri,
        username: alice.username,
        password: alice.password,
      });
      const code = done.searchParams.get('code') as string;
      const session = jar.cookies.get('__Host-sr_session')?.value as string;
      const client = { baseUrl, clientId: mobile.clientId };
      const tokens = await tokenRequest(client, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: mobile.redirectUri,
        code_verifier: verifier,
      });
      const rotated = await refresh({ ...client, refreshToken: tokens.refresh_token as string });
      const secrets = {
        code,
        session,
        interactionId,
        refreshToken: tokens.refresh_token as string,
        rotatedRefreshToken: rotated.refresh_token as string,
      };
      for (const [name, value] of Object.entries(secrets)) assert.ok(value && value.length >= 20, name);

      const rows = JSON.stringify(await t.app.context.db.selectFrom('oidc_payloads').selectAll().execute());
      for (const [name, value] of Object.entries(secrets))
        assert.ok(!rows.includes(value), `${name} in a row`);
      const digest = (value: string) => createHash('sha256').update(value).digest('hex');
      assert.ok(
        rows.includes(digest(secrets.rotatedRefreshToken)),
        'the refresh token is found by its digest',
      );
      if (t.dialect === 'sqlite') {
        for (const file of ['strongroom.db', 'strongroom.db-wal']) {
          const at = path.join(t.dataDir, file);
          if (!existsSync(at)) continue;
          const bytes = readFileSync(at).toString('latin1');
          for (const [name, value] of Object.entries(secrets))
            assert.ok(!bytes.includes(value), `${name} in ${file}`);
        }
      }
      // Still usable: the rotated refresh token refreshes.
      assert.ok((await refresh({ ...client, refreshToken: secrets.rotatedRefreshToken })).access_token);
    });

    // ---- items 17–19: interoperability -----------------------------------------------------------------

    /** The code flow for alice through `mobile` with these scopes; returns the token response. */
    async function mobileTokens(scope: string, extraParams: Record<string, string> = {}) {
      const mobile = demoApp('mobile');
      const alice = demoUser('alice');
      const result = await authorize({
        baseUrl,
        clientId: mobile.clientId,
        redirectUri: mobile.redirectUri,
        username: alice.username,
        password: alice.password,
        scope,
        extraParams,
      });
      assert.ok(result.code, `a code (${result.location.search})`);
      return tokenRequest(
        { baseUrl, clientId: mobile.clientId },
        {
          grant_type: 'authorization_code',
          code: result.code as string,
          redirect_uri: mobile.redirectUri,
          code_verifier: result.codeVerifier,
        },
      );
    }
    const scopeSet = (scope: string | undefined) => new Set((scope ?? '').split(' ').filter(Boolean));

    it('a token response with an ID token has openid in scope, and offline_access is granted and echoed', async () => {
      const tokens = await mobileTokens('openid offline_access banking/read');
      assert.ok(tokens.id_token);
      assert.ok(tokens.refresh_token);
      assert.deepEqual(scopeSet(tokens.scope), new Set(['openid', 'offline_access', 'banking/read']));
      assert.equal(decodeJwt(tokens.access_token).payload.scope, 'banking/read');
      const refreshed = await refresh({
        baseUrl,
        clientId: demoApp('mobile').clientId,
        refreshToken: tokens.refresh_token as string,
      });
      assert.ok(refreshed.id_token);
      assert.deepEqual(scopeSet(refreshed.scope), new Set(['openid', 'offline_access', 'banking/read']));
    });

    it('without openid the token response has no ID token and no openid scope, but still a refresh token', async () => {
      const tokens = await mobileTokens('banking/read');
      assert.equal(tokens.id_token, undefined);
      assert.ok(tokens.refresh_token, 'a refresh token always comes with an authorization-code grant');
      assert.deepEqual(scopeSet(tokens.scope), new Set(['banking/read']));
    });

    it('metadata publishes introspection and revocation auth methods and the API scopes', async () => {
      const metadata = (await (
        await fetch(`${baseUrl}/auth/.well-known/openid-configuration`)
      ).json()) as Record<string, string[]>;
      for (const endpoint of ['introspection', 'revocation'])
        assert.deepEqual(
          metadata[`${endpoint}_endpoint_auth_methods_supported`],
          metadata.token_endpoint_auth_methods_supported,
        );
      assert.ok(metadata.scopes_supported?.includes('banking/read'));
      assert.ok(metadata.scopes_supported?.includes('offline_access'));
    });

    it('signs ID tokens with RS256 for a client that asks, while access tokens stay ES256', async () => {
      const alice = demoUser('alice');
      const rp = (await t.app.services.oauth.clients.register({
        name: 'RS256 relying party',
        kind: 'confidential',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowedScopes: ['banking/read'],
        firstParty: true,
        idTokenSignedResponseAlg: 'RS256',
      })) as { clientId: string; clientSecret: string };
      const result = await authorize({
        baseUrl,
        ...rp,
        redirectUri: REDIRECT,
        username: alice.username,
        password: alice.password,
        scope: 'openid banking/read',
      });
      const tokens = await tokenRequest(
        { baseUrl, ...rp },
        {
          grant_type: 'authorization_code',
          code: result.code as string,
          redirect_uri: REDIRECT,
          code_verifier: result.codeVerifier,
        },
      );
      const jwks = createRemoteJWKSet(new URL(`${baseUrl}/auth/jwks`));
      const idToken = await jwtVerify(tokens.id_token as string, jwks, {
        issuer: `${baseUrl}/auth`,
        audience: rp.clientId,
        algorithms: ['RS256'],
      });
      assert.equal(idToken.protectedHeader.alg, 'RS256');
      assert.equal(decodeJwt(tokens.access_token).header.alg, 'ES256');
      const metadata = (await (
        await fetch(`${baseUrl}/auth/.well-known/openid-configuration`)
      ).json()) as Record<string, string[]>;
      assert.deepEqual(new Set(metadata.id_token_signing_alg_values_supported), new Set(['RS256', 'ES256']));
    });

    it('signs ID tokens with ES256 by default', async () => {
      const tokens = await mobileTokens('openid banking/read');
      assert.equal(decodeJwt(tokens.id_token as string).header.alg, 'ES256');
    });

    const userinfo = (authorization?: string) =>
      fetch(`${baseUrl}/auth/userinfo`, { headers: authorization ? { authorization } : {} });

    it('/auth/userinfo answers an API access token whose grant has openid', async () => {
      const tokens = await mobileTokens('openid banking/read');
      const response = await userinfo(`Bearer ${tokens.access_token}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await response.json(), {
        sub: demoUser('alice').id,
        preferred_username: 'alice',
        name: (await t.app.services.identity.getUser(demoUser('alice').id))?.displayName ?? 'alice',
      });
    });

    it('/auth/userinfo refuses a token without openid (403), a bad token (401) and none (401)', async () => {
      const tokens = await mobileTokens('banking/read');
      const noOpenid = await userinfo(`Bearer ${tokens.access_token}`);
      assert.equal(noOpenid.status, 403);
      assert.equal(
        noOpenid.headers.get('www-authenticate'),
        'Bearer realm="strongroom", error="insufficient_scope", scope="openid"',
      );
      const garbage = await userinfo('Bearer not.a.token');
      assert.equal(garbage.status, 401);
      assert.equal(
        garbage.headers.get('www-authenticate'),
        'Bearer realm="strongroom", error="invalid_token"',
      );
      const none = await userinfo();
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="strongroom"');
    });

    it('offline_access pushed through PAR is kept and echoed too', async () => {
      const { verifier, challenge } = pkcePair();
      const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
      const pushed = await fetch(`${baseUrl}/auth/oauth2/par`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({
          response_type: 'code',
          client_id: client.clientId,
          redirect_uri: REDIRECT,
          scope: 'openid offline_access banking/read',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }).toString(),
      });
      assert.equal(pushed.status, 201);
      const { request_uri } = (await pushed.json()) as { request_uri: string };
      const url = new URL(`${baseUrl}/auth/oauth2/authorize`);
      url.searchParams.set('client_id', client.clientId);
      url.searchParams.set('request_uri', request_uri);
      const alice = demoUser('alice');
      const done = await followAuthorization(createCookieJar(), url.href, {
        baseUrl,
        redirectUri: REDIRECT,
        username: alice.username,
        password: alice.password,
      });
      const tokens = await tokenRequest(
        { baseUrl, ...client },
        {
          grant_type: 'authorization_code',
          code: done.searchParams.get('code') as string,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
        },
      );
      assert.deepEqual(scopeSet(tokens.scope), new Set(['openid', 'offline_access', 'banking/read']));
    });

    it('accepts a token that follows a client override longer than the institution default', async () => {
      const clients = t.app.services.oauth.clients;
      const mobile = demoApp('mobile');
      const before = (await clients.get(mobile.clientId))?.lifetimes ?? {};
      await clients.update(mobile.clientId, { lifetimes: { ...before, accessToken: 3600 } });
      try {
        const tokens = await mobileTokens('banking/read');
        assert.equal(tokens.expires_in, 3600);
        assert.equal((await callApi(tokens.access_token)).status, 200);
      } finally {
        await clients.update(mobile.clientId, { lifetimes: before });
      }
    });
  });
}
