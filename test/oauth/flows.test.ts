import assert from 'node:assert/strict';
import { generateKeyPairSync, type webcrypto } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import * as client from 'openid-client';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import {
  createCookieJar,
  decodeJwt,
  followAuthorization,
  jarFetch,
  type OAuthFlowError,
  refresh,
} from '../helpers/oauth-flow.ts';
import { startDemoServer, type TestApp, testDialects } from '../helpers/test-app.ts';

const REDIRECT = 'https://client.example/cb';
const NATIVE_REDIRECT = 'http://127.0.0.1:8765/callback';

for (const dialect of testDialects()) {
  describe(`authorization server flows (${dialect})`, () => {
    let t: TestApp;
    let baseUrl: string;
    let issuer: URL;
    let alice: { password: string; id: string };
    let secretClient: { clientId: string; clientSecret: string };
    let publicClientId: string;
    let jwtClientId: string;
    let jwtKey: webcrypto.CryptoKey;

    before(async () => {
      t = await startDemoServer({ dialect });
      baseUrl = t.config.publicUrl;
      issuer = new URL(`${baseUrl}/auth`);
      const demo = await readDemoFile(t.dataDir);
      const user = demo?.users.find((u) => u.username === 'alice');
      assert.ok(user);
      alice = user;
      const clients = t.app.services.oauth.clients;
      const scopes = ['banking/read', 'banking/readBalance', 'banking/write', 'profile/read'];
      const registered = await clients.register({
        name: 'Budget Buddy',
        kind: 'confidential',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowedScopes: scopes,
        organizationName: 'Fintech Labs',
      });
      secretClient = { clientId: registered.clientId, clientSecret: registered.clientSecret as string };
      publicClientId = (
        await clients.register({
          name: 'Mobile',
          kind: 'public',
          redirectUris: [NATIVE_REDIRECT],
          grantTypes: ['authorization_code', 'refresh_token'],
          tokenEndpointAuthMethod: 'none',
          allowedScopes: scopes,
          firstParty: true,
        })
      ).clientId;
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      jwtKey = await crypto.subtle.importKey(
        'jwk',
        privateKey.export({ format: 'jwk' }),
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      );
      jwtClientId = (
        await clients.register({
          name: 'Back office service',
          kind: 'confidential',
          redirectUris: [REDIRECT],
          grantTypes: ['authorization_code', 'refresh_token'],
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'k1' }] },
          allowedScopes: scopes,
          firstParty: true,
        })
      ).clientId;
    });
    after(async () => {
      await t?.close();
    });

    const secretConfig = () =>
      client.discovery(
        issuer,
        secretClient.clientId,
        { id_token_signed_response_alg: 'ES256' },
        client.ClientSecretBasic(secretClient.clientSecret),
      );

    async function codeFlow(config: client.Configuration, redirectUri: string, scope: string) {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope,
        state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const callback = await followAuthorization(createCookieJar(), url.href, {
        baseUrl,
        redirectUri,
        username: 'alice',
        password: alice.password,
      });
      return client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
    }

    it('publishes metadata at both discovery URLs with the contract endpoints', async () => {
      for (const path of [
        '/auth/.well-known/openid-configuration',
        '/.well-known/oauth-authorization-server/auth',
      ]) {
        const response = await fetch(`${baseUrl}${path}`);
        assert.equal(response.status, 200);
        const metadata = (await response.json()) as Record<string, unknown>;
        assert.equal(metadata.issuer, `${baseUrl}/auth`);
        assert.equal(metadata.authorization_endpoint, `${baseUrl}/auth/oauth2/authorize`);
        assert.equal(metadata.token_endpoint, `${baseUrl}/auth/oauth2/token`);
        assert.equal(metadata.pushed_authorization_request_endpoint, `${baseUrl}/auth/oauth2/par`);
        assert.equal(metadata.revocation_endpoint, `${baseUrl}/auth/oauth2/revoke`);
        assert.equal(metadata.introspection_endpoint, `${baseUrl}/auth/oauth2/introspect`);
        assert.equal(metadata.jwks_uri, `${baseUrl}/auth/jwks`);
        assert.equal(metadata.end_session_endpoint, `${baseUrl}/auth/logout`);
        assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
        assert.deepEqual(metadata.response_types_supported, ['code']);
        assert.ok(
          !(metadata.token_endpoint_auth_methods_supported as string[]).includes('client_secret_jwt'),
        );
        assert.ok(
          !(metadata.token_endpoint_auth_signing_alg_values_supported as string[]).some((a) =>
            a.startsWith('HS'),
          ),
        );
      }
    });

    it('issues an ES256 at+jwt access token with every contract claim to a confidential client', async () => {
      const config = await secretConfig();
      const tokens = await codeFlow(config, REDIRECT, 'openid banking/read banking/readBalance');
      assert.ok(tokens.refresh_token);
      assert.equal(tokens.expires_in, 300);
      const { header, payload } = decodeJwt(tokens.access_token);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'ES256');
      const keys = await t.app.services.oauth.authority.jwks();
      assert.ok(keys.keys.some((k) => k.kid === header.kid));
      assert.equal(payload.iss, `${baseUrl}/auth`);
      assert.equal(payload.aud, `${baseUrl}/`);
      assert.equal(payload.sub, alice.id);
      assert.equal(payload.client_id, secretClient.clientId);
      assert.equal(payload.scope, 'banking/read banking/readBalance');
      assert.equal(typeof payload.jti, 'string');
      assert.equal(typeof payload.grant_id, 'string');
      assert.equal((payload.exp as number) - (payload.iat as number), 300);
      assert.ok(tokens.claims()?.sub === alice.id);
    });

    it('grants only the requested scopes the client may have and the user’s roles give', async () => {
      const config = await secretConfig();
      // admin/read is neither allowed for the client nor in alice's roles; banking/write is both.
      const tokens = await codeFlow(config, REDIRECT, 'banking/read banking/write admin/read');
      assert.equal(tokens.scope, 'banking/read banking/write');
    });

    it('authenticates a client with private_key_jwt', async () => {
      const config = await client.discovery(
        issuer,
        jwtClientId,
        { id_token_signed_response_alg: 'ES256' },
        client.PrivateKeyJwt(jwtKey),
      );
      const tokens = await codeFlow(config, REDIRECT, 'banking/read');
      assert.equal(decodeJwt(tokens.access_token).payload.client_id, jwtClientId);
    });

    it('T9: refuses replayed, expired, wrongly addressed and HS256 client assertions', async () => {
      const tokenUrl = `${baseUrl}/auth/oauth2/token`;
      const assertion = (overrides: { exp?: number; aud?: string; jti?: string } = {}) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .setIssuer(jwtClientId)
          .setSubject(jwtClientId)
          .setAudience(overrides.aud ?? `${baseUrl}/auth`)
          .setJti(overrides.jti ?? crypto.randomUUID())
          .setIssuedAt()
          .setExpirationTime(overrides.exp ?? Math.floor(Date.now() / 1000) + 60)
          .sign(jwtKey);
      const post = async (jwt: string) => {
        const response = await fetch(tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: jwtClientId,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: jwt,
          }).toString(),
        });
        return { status: response.status, error: ((await response.json()) as { error: string }).error };
      };
      const valid = await assertion();
      // Authenticated (the client may not use client credentials, so not 200, but not invalid_client).
      assert.notEqual((await post(valid)).error, 'invalid_client');
      assert.deepEqual(await post(valid), { status: 401, error: 'invalid_client' });
      assert.deepEqual(await post(await assertion({ exp: Math.floor(Date.now() / 1000) - 300 })), {
        status: 401,
        error: 'invalid_client',
      });
      assert.deepEqual(await post(await assertion({ aud: 'https://other.example/' })), {
        status: 401,
        error: 'invalid_client',
      });
      const hmac = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(jwtClientId)
        .setSubject(jwtClientId)
        .setAudience(`${baseUrl}/auth`)
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(new TextEncoder().encode('x'.repeat(32)));
      assert.deepEqual(await post(hmac), { status: 401, error: 'invalid_client' });
    });

    it('lets a public client use a loopback redirect and rotates its refresh token', async () => {
      const config = await client.discovery(
        issuer,
        publicClientId,
        { id_token_signed_response_alg: 'ES256' },
        client.None(),
      );
      const tokens = await codeFlow(config, NATIVE_REDIRECT, 'banking/read profile/read');
      assert.ok(tokens.refresh_token);
      const next = await client.refreshTokenGrant(config, tokens.refresh_token);
      assert.ok(next.refresh_token);
      assert.notEqual(next.refresh_token, tokens.refresh_token);
      assert.equal(next.expires_in, 300);
    });

    it('keeps a confidential client’s refresh token (no rotation) and refreshes with a narrower scope', async () => {
      const config = await secretConfig();
      const tokens = await codeFlow(config, REDIRECT, 'banking/read banking/readBalance');
      const narrower = await client.refreshTokenGrant(config, tokens.refresh_token as string, {
        scope: 'banking/read',
      });
      assert.equal(narrower.scope, 'banking/read');
      assert.equal(decodeJwt(narrower.access_token).payload.scope, 'banking/read');
      assert.equal(narrower.refresh_token, tokens.refresh_token);
      // The lost-response retry (FAPI) works: the same refresh token again.
      const again = await client.refreshTokenGrant(config, tokens.refresh_token as string);
      assert.equal(again.scope, 'banking/read banking/readBalance');
    });

    it('refuses a refresh that widens the scope with invalid_scope', async () => {
      const config = await secretConfig();
      const tokens = await codeFlow(config, REDIRECT, 'banking/read');
      await assert.rejects(
        refresh({
          baseUrl,
          ...secretClient,
          refreshToken: tokens.refresh_token as string,
          scope: 'banking/read banking/write',
        }),
        (error: OAuthFlowError) => error.error === 'invalid_scope',
      );
    });

    it('introspects an access token from its signature with the contract members and no-store', async () => {
      const config = await secretConfig();
      const tokens = await codeFlow(config, REDIRECT, 'banking/read');
      const response = await fetch(`${baseUrl}/auth/oauth2/introspect`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${secretClient.clientId}:${secretClient.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: tokens.access_token }).toString(),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const body = (await response.json()) as Record<string, unknown>;
      const { payload } = decodeJwt(tokens.access_token);
      assert.equal(body.active, true);
      for (const claim of ['scope', 'client_id', 'sub', 'aud', 'iss', 'exp', 'iat', 'jti'])
        assert.deepEqual(body[claim], payload[claim], claim);
    });

    it('revoking a refresh token ends the grant: its access token is inactive and denylisted', async () => {
      const config = await secretConfig();
      const tokens = await codeFlow(config, REDIRECT, 'banking/read');
      const { payload } = decodeJwt(tokens.access_token);
      await client.tokenRevocation(config, tokens.refresh_token as string);
      const introspection = await client.tokenIntrospection(config, tokens.access_token);
      assert.deepEqual({ ...introspection }, { active: false });
      assert.equal(
        t.app.services.oauth.authority.isRevoked({
          grantId: payload.grant_id as string,
          jti: payload.jti as string,
        }),
        true,
      );
      await assert.rejects(
        refresh({ baseUrl, ...secretClient, refreshToken: tokens.refresh_token as string }),
        (error: OAuthFlowError) => error.error === 'invalid_grant',
      );
    });

    it('revoking a JWT access token revokes its grant', async () => {
      const config = await secretConfig();
      const tokens = await codeFlow(config, REDIRECT, 'banking/read');
      await client.tokenRevocation(config, tokens.access_token);
      const { payload } = decodeJwt(tokens.access_token);
      assert.equal(
        t.app.services.oauth.authority.isRevoked({
          grantId: payload.grant_id as string,
          jti: payload.jti as string,
        }),
        true,
      );
      await assert.rejects(
        refresh({ baseUrl, ...secretClient, refreshToken: tokens.refresh_token as string }),
        (error: OAuthFlowError) => error.error === 'invalid_grant',
      );
    });

    it('issues client-credentials tokens whose subject is the client, without a refresh token', async () => {
      const config = await secretConfig();
      const tokens = await client.clientCredentialsGrant(config, { scope: 'banking/read' });
      assert.equal(tokens.refresh_token, undefined);
      assert.equal(tokens.expires_in, 300);
      const { payload } = decodeJwt(tokens.access_token);
      assert.equal(payload.sub, secretClient.clientId);
      assert.equal(payload.grant_id, undefined);
      assert.equal(payload.scope, 'banking/read');
      await client.tokenRevocation(config, tokens.access_token);
      assert.equal(
        t.app.services.oauth.authority.isRevoked({ grantId: undefined, jti: payload.jti as string }),
        true,
      );
    });

    it('applies a lifetime changed at run time to the next token', async () => {
      const config = await secretConfig();
      await t.app.services.oauth.lifetimes.set({ accessToken: 120 });
      try {
        const tokens = await client.clientCredentialsGrant(config, { scope: 'banking/read' });
        assert.equal(tokens.expires_in, 120);
        const { payload } = decodeJwt(tokens.access_token);
        assert.equal((payload.exp as number) - (payload.iat as number), 120);
      } finally {
        await t.app.services.oauth.lifetimes.set({ accessToken: 300 });
      }
    });

    it('applies a per-client lifetime override', async () => {
      await t.app.services.oauth.clients.update(secretClient.clientId, { lifetimes: { accessToken: 90 } });
      try {
        const tokens = await client.clientCredentialsGrant(await secretConfig(), { scope: 'banking/read' });
        assert.equal(tokens.expires_in, 90);
      } finally {
        await t.app.services.oauth.clients.update(secretClient.clientId, { lifetimes: {} });
      }
    });

    it('logs out through RP-initiated logout and ends the session’s grants', async () => {
      const config = await client.discovery(
        issuer,
        publicClientId,
        { id_token_signed_response_alg: 'ES256' },
        client.None(),
      );
      const jar = createCookieJar();
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: NATIVE_REDIRECT,
        scope: 'openid banking/read',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const callback = await followAuthorization(jar, url.href, {
        baseUrl,
        redirectUri: NATIVE_REDIRECT,
        username: 'alice',
        password: alice.password,
      });
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
      const logout = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string });
      const page = await jarFetch(jar, logout.href);
      assert.equal(page.status, 200);
      const html = await page.text();
      const action = /action="([^"]+)"/.exec(html)?.[1] as string;
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] as string;
      const done = await jarFetch(jar, new URL(action, baseUrl).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
      });
      assert.ok([200, 303].includes(done.status), `status ${done.status}`);
      const { payload } = decodeJwt(tokens.access_token);
      assert.equal(
        t.app.services.oauth.authority.isRevoked({
          grantId: payload.grant_id as string,
          jti: payload.jti as string,
        }),
        true,
      );
    });
  });
}
