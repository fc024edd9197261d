import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { createCookieJar, followAuthorization } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';

const REDIRECT = 'https://rp.example/cb';

/**
 * Interoperability with oauth4webapi (by the author of oidc-provider, independent of openid-client's
 * conveniences): discovery, the code flow with PKCE and `iss`, ID-token validation (RS256 by its default,
 * ES256 when the client says so), the granted scope, refresh, RFC 9068 access-token validation,
 * introspection and revocation (issue 10, "Interoperability").
 */
for (const dialect of testDialects()) {
  describe(`interoperability: oauth4webapi (${dialect})`, () => {
    let t: DemoServer;
    let as: oauth.AuthorizationServer;
    let confidential: { clientId: string; clientSecret: string };

    before(async () => {
      t = await startDemoServer({ dialect });
      const issuer = new URL(`${t.baseUrl}/auth`);
      as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, { algorithm: 'oidc' }),
      );
      confidential = (await t.app.services.oauth.clients.register({
        name: 'oauth4webapi relying party',
        kind: 'confidential',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowedScopes: ['banking/read'],
        firstParty: true,
        idTokenSignedResponseAlg: 'RS256',
      })) as typeof confidential;
    });
    after(async () => {
      await t?.close();
    });

    const alice = () => {
      const user = t.demo.users.find((u) => u.username === 'alice');
      assert.ok(user);
      return user;
    };

    /** The code flow with PKCE, driven through our pages; returns the processed token response. */
    async function codeFlow(
      client: oauth.Client,
      clientAuth: oauth.ClientAuth,
      redirectUri: string,
      scope: string,
    ) {
      const codeVerifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const url = new URL(as.authorization_endpoint as string);
      for (const [k, v] of Object.entries({
        client_id: client.client_id,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope,
        state,
        nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }))
        url.searchParams.set(k, v);
      const callback = await followAuthorization(createCookieJar(), url.href, {
        baseUrl: t.baseUrl,
        redirectUri,
        username: alice().username,
        password: alice().password,
      });
      const params = oauth.validateAuthResponse(as, client, callback, state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        redirectUri,
        codeVerifier,
      );
      return oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: nonce,
        requireIdToken: scope.split(' ').includes('openid'),
      });
    }

    it('discovers RS256 ID tokens, the API scopes and every endpoint it needs', () => {
      assert.ok(as.id_token_signing_alg_values_supported?.includes('RS256'));
      assert.ok(as.scopes_supported?.includes('banking/read'));
      assert.ok(as.introspection_endpoint && as.revocation_endpoint && as.jwks_uri);
      assert.ok(as.introspection_endpoint_auth_methods_supported?.includes('client_secret_basic'));
      assert.ok(as.revocation_endpoint_auth_methods_supported?.includes('none'));
      assert.equal(as.dpop_signing_alg_values_supported, undefined);
    });

    it('confidential client: code + PKCE, RS256 ID token, granted scope, RFC 9068 token, userinfo, refresh', async () => {
      const client: oauth.Client = { client_id: confidential.clientId };
      const auth = oauth.ClientSecretBasic(confidential.clientSecret);
      const tokens = await codeFlow(client, auth, REDIRECT, 'openid offline_access banking/read');
      assert.equal(tokens.token_type, 'bearer');
      assert.deepEqual(
        new Set(tokens.scope?.split(' ')),
        new Set(['openid', 'offline_access', 'banking/read']),
      );
      assert.ok(tokens.refresh_token);
      assert.equal(oauth.getValidatedIdTokenClaims(tokens)?.sub, alice().id);

      // The gateway's audience, validated the RFC 9068 way by an independent implementation.
      const request = new Request(`${t.baseUrl}/accounts/accounts`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      const claims = await oauth.validateJwtAccessToken(as, request, `${t.baseUrl}/`);
      assert.equal(claims.client_id, confidential.clientId);

      const profile = await oauth.processUserInfoResponse(
        as,
        client,
        alice().id,
        await oauth.userInfoRequest(as, client, tokens.access_token),
      );
      assert.equal(profile.preferred_username, 'alice');

      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token as string),
      );
      assert.ok(refreshed.access_token);
      assert.deepEqual(
        new Set(refreshed.scope?.split(' ')),
        new Set(['openid', 'offline_access', 'banking/read']),
      );
    });

    it('public client: code + PKCE with an ES256 ID token, introspection, then revocation ends the grant', async () => {
      const mobile = t.demo.apps.mobile;
      assert.ok(mobile);
      const client: oauth.Client = { client_id: mobile.clientId, id_token_signed_response_alg: 'ES256' };
      const auth = oauth.None();
      const tokens = await codeFlow(client, auth, mobile.redirectUri, 'openid offline_access banking/read');
      assert.ok(tokens.refresh_token);

      const introspect = async () =>
        oauth.processIntrospectionResponse(
          as,
          client,
          await oauth.introspectionRequest(as, client, auth, tokens.access_token),
        );
      const active = await introspect();
      assert.equal(active.active, true);
      assert.equal(active.client_id, mobile.clientId);

      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, auth, tokens.refresh_token as string),
      );
      assert.equal((await introspect()).active, false);
      await assert.rejects(
        async () =>
          oauth.processRefreshTokenResponse(
            as,
            client,
            await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token as string),
          ),
        (error: oauth.ResponseBodyError) => error.error === 'invalid_grant',
      );
    });
  });
}
