import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import {
  authorize,
  createCookieJar,
  decodeJwt,
  jarFetch,
  type OAuthFlowError,
  parseForm,
  pkcePair,
  refresh,
  type TokenSet,
  tokenRequest,
} from '../helpers/oauth-flow.ts';
import { startDemoServer, type TestApp, testDialects } from '../helpers/test-app.ts';

const REDIRECT = 'https://client.example/cb';
const NATIVE = 'http://127.0.0.1:8765/callback';
const PASSWORD = 'a long and unusual passphrase';

for (const dialect of testDialects()) {
  describe(`authorization server security checklist (${dialect})`, () => {
    let t: TestApp;
    let baseUrl: string;
    let a: { clientId: string; clientSecret: string };
    let b: { clientId: string; clientSecret: string };
    let pub: { clientId: string };
    let users = 0;

    before(async () => {
      t = await startDemoServer({ dialect });
      baseUrl = t.config.publicUrl;
      const clients = t.app.services.oauth.clients;
      const spec = {
        kind: 'confidential' as const,
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code' as const, 'refresh_token' as const, 'client_credentials' as const],
        tokenEndpointAuthMethod: 'client_secret_basic' as const,
        allowedScopes: ['banking/read', 'banking/readBalance', 'profile/read'],
        organizationName: 'Fintech Labs',
      };
      a = (await clients.register({ ...spec, name: 'App A' })) as typeof a;
      b = (await clients.register({ ...spec, name: 'App B' })) as typeof b;
      pub = await clients.register({
        name: 'Native',
        kind: 'public',
        redirectUris: [NATIVE],
        grantTypes: ['authorization_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'none',
        allowedScopes: ['banking/read'],
        firstParty: true,
      });
    });
    after(async () => {
      mock.timers.reset();
      await t?.close();
    });

    /** A fresh customer, so that lockouts and revocations do not touch other tests. */
    async function newUser(): Promise<{ id: string; username: string }> {
      users += 1;
      const user = await t.app.services.identity.createUser({
        username: `user${users}`,
        password: PASSWORD,
        roles: ['customer'],
      });
      return { id: user.id, username: user.username };
    }

    function authorizeUrl(params: Record<string, string | undefined>): string {
      const url = new URL(`${baseUrl}/auth/oauth2/authorize`);
      const { challenge } = pkcePair();
      const all: Record<string, string | undefined> = {
        response_type: 'code',
        client_id: a.clientId,
        redirect_uri: REDIRECT,
        scope: 'banking/read',
        state: 'xyz',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...params,
      };
      for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
      return url.href;
    }

    async function codeTokens(
      client: { clientId: string; clientSecret?: string },
      redirectUri = REDIRECT,
    ): Promise<TokenSet & { user: string }> {
      const user = await newUser();
      const result = await authorize({
        baseUrl,
        clientId: client.clientId,
        redirectUri,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
      });
      const tokens = await tokenRequest(
        { baseUrl, ...client },
        {
          grant_type: 'authorization_code',
          code: result.code as string,
          redirect_uri: redirectUri,
          code_verifier: result.codeVerifier,
        },
      );
      return { ...tokens, user: user.id };
    }

    async function introspect(token: string, client = a) {
      const response = await fetch(`${baseUrl}/auth/oauth2/introspect`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token }).toString(),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }

    const revoked = (accessToken: string) => {
      const { payload } = decodeJwt(accessToken);
      return t.app.services.oauth.authority.isRevoked({
        grantId: payload.grant_id as string | undefined,
        jti: payload.jti as string,
      });
    };

    /** Reach the login page of a new interaction. */
    async function loginPage(jar = createCookieJar(), params: Record<string, string | undefined> = {}) {
      const start = await jarFetch(jar, authorizeUrl(params));
      assert.equal(start.status, 303);
      const pageUrl = new URL(start.headers.get('location') as string, baseUrl).href;
      const page = await jarFetch(jar, pageUrl);
      return { jar, page, html: await page.text(), pageUrl };
    }

    async function consentPage() {
      const user = await newUser();
      const { jar, html, pageUrl } = await loginPage();
      const { action, csrf } = parseForm(html);
      const login = await jarFetch(jar, new URL(action, baseUrl).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, username: user.username, password: PASSWORD }).toString(),
      });
      let location = login.headers.get('location') as string;
      for (let i = 0; i < 5 && !location.includes('/auth/interaction/'); i++) {
        const next = await jarFetch(jar, new URL(location, baseUrl).href);
        location = next.headers.get('location') as string;
      }
      const consent = await jarFetch(jar, new URL(location, baseUrl).href);
      const consentHtml = await consent.text();
      assert.match(consentHtml, /name="decision"/);
      return { jar, html: consentHtml, pageUrl, ...parseForm(consentHtml), loginStatus: login.status };
    }

    const post = (
      jar: ReturnType<typeof createCookieJar>,
      url: string,
      values: Record<string, string>,
      headers: Record<string, string> = {},
    ) =>
      jarFetch(jar, new URL(url, baseUrl).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(values).toString(),
      });

    // ---- 1.1 authorization endpoint --------------------------------------------------------------

    it('A1: refuses redirect URI variants with a 400 page and no Location', async () => {
      const variants = [
        `${REDIRECT}/`,
        `${REDIRECT}?x=1`,
        `${REDIRECT}#f`,
        'https://client.example/CB',
        'https://CLIENT.example/cb',
        'https://client.example/cb/..%2f',
        'https://client.example.evil.test/cb',
        'https://client.example@evil.test/cb',
        'http://client.example/cb',
      ];
      for (const redirect of variants) {
        const response = await fetch(authorizeUrl({ redirect_uri: redirect }), { redirect: 'manual' });
        assert.equal(response.status, 400, redirect);
        assert.equal(response.headers.get('location'), null, redirect);
        assert.match(response.headers.get('content-type') ?? '', /text\/html/);
      }
    });

    it('A2: answers an unknown client_id with a 400 page, never a redirect', async () => {
      const response = await fetch(authorizeUrl({ client_id: 'cli_doesNotExist000000' }), {
        redirect: 'manual',
      });
      assert.equal(response.status, 400);
      assert.equal(response.headers.get('location'), null);
    });

    it('A3: redirects an unrecognised scope to the registered URI with error, state and iss', async () => {
      const response = await fetch(authorizeUrl({ scope: 'banking/read unknown/scope' }), {
        redirect: 'manual',
      });
      assert.ok([302, 303].includes(response.status));
      const location = new URL(response.headers.get('location') as string);
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
      assert.equal(location.searchParams.get('error'), 'invalid_scope');
      assert.equal(location.searchParams.get('state'), 'xyz');
      assert.equal(location.searchParams.get('iss'), `${baseUrl}/auth`);
    });

    it('A4: requires PKCE with S256 (missing challenge or plain → invalid_request)', async () => {
      for (const params of [
        { code_challenge: undefined, code_challenge_method: undefined },
        { code_challenge_method: 'plain' },
      ]) {
        const response = await fetch(authorizeUrl(params), { redirect: 'manual' });
        const location = new URL(response.headers.get('location') as string);
        assert.equal(location.searchParams.get('error'), 'invalid_request');
        assert.equal(location.searchParams.get('code'), null);
      }
    });

    it('A5: refuses a code_challenge of 42 or 129 characters', async () => {
      for (const challenge of ['a'.repeat(42), 'a'.repeat(129)]) {
        const response = await fetch(authorizeUrl({ code_challenge: challenge }), { redirect: 'manual' });
        const location = new URL(response.headers.get('location') as string);
        assert.equal(location.searchParams.get('error'), 'invalid_request');
      }
    });

    it('A6: supports only response_type=code', async () => {
      for (const type of ['token', 'id_token token', 'code id_token']) {
        const response = await fetch(authorizeUrl({ response_type: type }), { redirect: 'manual' });
        const location = response.headers.get('location');
        const error = location
          ? (new URL(location).searchParams.get('error') ??
            new URL(location.replace('#', '?')).searchParams.get('error'))
          : 'page';
        assert.ok(
          ['unsupported_response_type', 'invalid_request', 'page'].includes(error as string),
          `${type}: ${error}`,
        );
        assert.equal(location?.includes('code='), location ? false : undefined);
      }
    });

    it('A9: answers the login POST with 303, never 307/308', async () => {
      const user = await newUser();
      const { jar, html } = await loginPage();
      const { action, csrf } = parseForm(html);
      const response = await post(jar, action, { csrf, username: user.username, password: PASSWORD });
      assert.equal(response.status, 303);
    });

    it('A10: refuses consent without a valid CSRF token or from another site (403, no code)', async () => {
      for (const [values, headers] of [
        [{ decision: 'approve' }, {}],
        [{ decision: 'approve', csrf: 'forged' }, {}],
        [{ decision: 'approve' }, { origin: 'https://evil.test' }],
        [{ decision: 'approve' }, { 'sec-fetch-site': 'cross-site' }],
      ] as const) {
        const consent = await consentPage();
        const body: Record<string, string> = { ...values };
        if (!('csrf' in values) && Object.keys(headers).length) body.csrf = consent.csrf;
        const response = await post(consent.jar, consent.action, body, headers as Record<string, string>);
        assert.equal(response.status, 403);
        assert.equal(response.headers.get('location'), null);
      }
    });

    it('A10: the consent page names the application, organization and scopes, and approve yields a code', async () => {
      const consent = await consentPage();
      assert.match(consent.html, /App A/);
      assert.match(consent.html, /Fintech Labs/);
      assert.match(consent.html, /banking\/read/);
      const response = await post(consent.jar, consent.action, { csrf: consent.csrf, decision: 'approve' });
      assert.equal(response.status, 303);
    });

    it('denying consent redirects with access_denied', async () => {
      const user = await newUser();
      const result = await authorize({
        baseUrl,
        clientId: a.clientId,
        redirectUri: REDIRECT,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
        consent: 'deny',
      });
      assert.equal(result.code, undefined);
      assert.equal(result.location.searchParams.get('error'), 'access_denied');
    });

    it('A11: login and consent pages cannot be framed', async () => {
      const { page } = await loginPage();
      assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.equal(page.headers.get('cache-control'), 'no-store');
    });

    it('A12: does not redirect to an unregistered post_logout_redirect_uri', async () => {
      const response = await fetch(
        `${baseUrl}/auth/logout?client_id=${a.clientId}&post_logout_redirect_uri=https://evil.test/`,
        { redirect: 'manual' },
      );
      const location = response.headers.get('location');
      assert.ok(location === null || !location.includes('evil.test'));
      assert.equal(response.status, 400);
    });

    it('A15: accepts a request without state and echoes none', async () => {
      const user = await newUser();
      const result = await authorize({
        baseUrl,
        clientId: a.clientId,
        redirectUri: REDIRECT,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
        extraParams: { state: '' },
      });
      assert.ok(result.code);
      assert.equal(result.location.searchParams.get('state'), null);
    });

    // ---- 1.2 token endpoint ----------------------------------------------------------------------

    it('T1: a replayed code is refused and the tokens of the first exchange are revoked', async () => {
      const user = await newUser();
      const result = await authorize({
        baseUrl,
        clientId: a.clientId,
        redirectUri: REDIRECT,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
      });
      const params = {
        grant_type: 'authorization_code',
        code: result.code as string,
        redirect_uri: REDIRECT,
        code_verifier: result.codeVerifier,
      };
      const first = await tokenRequest({ baseUrl, ...a }, params);
      await assert.rejects(
        tokenRequest({ baseUrl, ...a }, params),
        (e: OAuthFlowError) => e.error === 'invalid_grant' && e.status === 400,
      );
      assert.equal(revoked(first.access_token), true);
      assert.deepEqual((await introspect(first.access_token)).body, { active: false });
      await assert.rejects(
        refresh({ baseUrl, ...a, refreshToken: first.refresh_token as string }),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
    });

    it('T4: a code is bound to its client and redirect URI', async () => {
      const user = await newUser();
      const result = await authorize({
        baseUrl,
        clientId: a.clientId,
        redirectUri: REDIRECT,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
      });
      const params = {
        grant_type: 'authorization_code',
        code: result.code as string,
        redirect_uri: REDIRECT,
        code_verifier: result.codeVerifier,
      };
      await assert.rejects(
        tokenRequest({ baseUrl, ...b }, params),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
      const other = await authorize({
        baseUrl,
        clientId: a.clientId,
        redirectUri: REDIRECT,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
      });
      await assert.rejects(
        tokenRequest(
          { baseUrl, ...a },
          {
            ...params,
            code: other.code as string,
            code_verifier: other.codeVerifier,
            redirect_uri: 'https://client.example/other',
          },
        ),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
    });

    it('T5: a missing or wrong code_verifier is invalid_grant', async () => {
      const user = await newUser();
      for (const verifier of [undefined, 'x'.repeat(43)]) {
        const result = await authorize({
          baseUrl,
          clientId: a.clientId,
          redirectUri: REDIRECT,
          username: user.username,
          password: PASSWORD,
          scope: 'banking/read',
        });
        const params: Record<string, string> = {
          grant_type: 'authorization_code',
          code: result.code as string,
          redirect_uri: REDIRECT,
        };
        if (verifier) params.code_verifier = verifier;
        await assert.rejects(tokenRequest({ baseUrl, ...a }, params), (e: OAuthFlowError) =>
          ['invalid_grant', 'invalid_request'].includes(e.error),
        );
      }
    });

    it('T5: accepts the RFC 7636 appendix B verifier for its challenge', async () => {
      const user = await newUser();
      const jar = createCookieJar();
      const { followAuthorization } = await import('../helpers/oauth-flow.ts');
      const location = await followAuthorization(
        jar,
        authorizeUrl({ code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }),
        {
          baseUrl,
          redirectUri: REDIRECT,
          username: user.username,
          password: PASSWORD,
        },
      );
      const tokens = await tokenRequest(
        { baseUrl, ...a },
        {
          grant_type: 'authorization_code',
          code: location.searchParams.get('code') as string,
          redirect_uri: REDIRECT,
          code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
        },
      );
      assert.ok(tokens.access_token);
    });

    it('T7: the password grant is unsupported', async () => {
      await assert.rejects(
        tokenRequest({ baseUrl, ...a }, { grant_type: 'password', username: 'alice', password: 'x' }),
        (e: OAuthFlowError) => e.error === 'unsupported_grant_type' && e.status === 400,
      );
    });

    it('T8: a wrong Basic secret is 401 invalid_client with a Basic challenge', async () => {
      const response = await fetch(`${baseUrl}/auth/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${a.clientId}:wrong-secret`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials&scope=banking%2Fread',
      });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
    });

    it('T10: token responses are not cacheable', async () => {
      const response = await fetch(`${baseUrl}/auth/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials&scope=banking%2Fread',
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
    });

    it('T12: an unrecognised scope at the token endpoint is invalid_scope', async () => {
      await assert.rejects(
        tokenRequest(
          { baseUrl, ...a },
          { grant_type: 'client_credentials', scope: 'banking/read nope/nope' },
        ),
        (e: OAuthFlowError) => e.error === 'invalid_scope',
      );
    });

    it('accepts the previous client secret during a rotation overlap only', async () => {
      const c = await t.app.services.oauth.clients.register({
        name: 'Rotating',
        kind: 'confidential',
        redirectUris: [REDIRECT],
        grantTypes: ['client_credentials'],
        tokenEndpointAuthMethod: 'client_secret_post',
        allowedScopes: ['banking/read'],
      });
      const rotated = await t.app.services.oauth.clients.rotateSecret(c.clientId, 3600);
      for (const secret of [c.clientSecret as string, rotated.clientSecret]) {
        const tokens = await tokenRequest(
          { baseUrl, clientId: c.clientId, clientSecret: secret, clientAuth: 'post' },
          { grant_type: 'client_credentials', scope: 'banking/read' },
        );
        assert.ok(tokens.access_token);
      }
      await t.app.services.oauth.clients.rotateSecret(c.clientId, 0);
      await assert.rejects(
        tokenRequest(
          { baseUrl, clientId: c.clientId, clientSecret: rotated.clientSecret, clientAuth: 'post' },
          { grant_type: 'client_credentials', scope: 'banking/read' },
        ),
        (e: OAuthFlowError) => e.error === 'invalid_client',
      );
    });

    // ---- 1.3 refresh tokens ----------------------------------------------------------------------

    it('R1: a refresh token is bound to its client', async () => {
      const tokens = await codeTokens(a);
      await assert.rejects(
        refresh({ baseUrl, ...b, refreshToken: tokens.refresh_token as string }),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
    });

    it('R2: reusing a rotated refresh token revokes the whole grant', async () => {
      const first = await codeTokens(pub, NATIVE);
      const second = await refresh({ baseUrl, ...pub, refreshToken: first.refresh_token as string });
      await assert.rejects(
        refresh({ baseUrl, ...pub, refreshToken: first.refresh_token as string }),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
      await assert.rejects(
        refresh({ baseUrl, ...pub, refreshToken: second.refresh_token as string }),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
      assert.equal(revoked(second.access_token), true);
    });

    it('R2: of concurrent refreshes with one token at most one succeeds', async () => {
      const first = await codeTokens(pub, NATIVE);
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          refresh({ baseUrl, ...pub, refreshToken: first.refresh_token as string }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<TokenSet>[];
      assert.ok(ok.length <= 1, `${ok.length} refreshes succeeded`);
      const valid = [];
      for (const r of ok) {
        try {
          await refresh({ baseUrl, ...pub, refreshToken: r.value.refresh_token as string });
          valid.push(r);
        } catch {}
      }
      assert.ok(valid.length <= 1);
    });

    it('R7: disabling a user ends their refresh tokens and access tokens', async () => {
      const tokens = await codeTokens(a);
      await t.app.services.identity.setStatus(tokens.user, 'disabled', 'test');
      assert.equal(revoked(tokens.access_token), true);
      await assert.rejects(
        refresh({ baseUrl, ...a, refreshToken: tokens.refresh_token as string }),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
    });

    it('R7: changing the password ends the user’s grants', async () => {
      const tokens = await codeTokens(a);
      await t.app.services.identity.setPassword(tokens.user, 'another long passphrase here');
      assert.equal(revoked(tokens.access_token), true);
      await assert.rejects(
        refresh({ baseUrl, ...a, refreshToken: tokens.refresh_token as string }),
        (e: OAuthFlowError) => e.error === 'invalid_grant',
      );
    });

    // ---- 1.4 revocation and introspection --------------------------------------------------------

    it('V1: revocation requires client authentication', async () => {
      const response = await fetch(`${baseUrl}/auth/oauth2/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=whatever&client_id=${a.clientId}`,
      });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
    });

    it('V2: revoking a garbage token answers 200 with an empty body', async () => {
      const response = await fetch(`${baseUrl}/auth/oauth2/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}`,
        },
        body: 'token=dsahjdasdsa',
      });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), '');
    });

    it('V3: another client cannot revoke a token', async () => {
      const tokens = await codeTokens(a);
      for (const token of [tokens.refresh_token as string, tokens.access_token]) {
        await fetch(`${baseUrl}/auth/oauth2/revoke`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${b.clientId}:${b.clientSecret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ token }).toString(),
        });
      }
      assert.equal(revoked(tokens.access_token), false);
      assert.ok(await refresh({ baseUrl, ...a, refreshToken: tokens.refresh_token as string }));
    });

    it('V5: a wrong token_type_hint still revokes', async () => {
      const tokens = await codeTokens(a);
      const response = await fetch(`${baseUrl}/auth/oauth2/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          token: tokens.refresh_token as string,
          token_type_hint: 'access_token',
        }).toString(),
      });
      assert.equal(response.status, 200);
      assert.equal(revoked(tokens.access_token), true);
    });

    it('I1: introspection requires client authentication', async () => {
      const response = await fetch(`${baseUrl}/auth/oauth2/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=abc',
      });
      assert.equal(response.status, 401);
    });

    it('I2: garbage, foreign and revoked tokens introspect as exactly {"active":false}', async () => {
      const tokens = await codeTokens(a);
      assert.deepEqual((await introspect('garbage')).body, { active: false });
      assert.deepEqual((await introspect(tokens.access_token, b)).body, { active: false });
      assert.deepEqual((await introspect(tokens.refresh_token as string, b)).body, { active: false });
      const forged = `${tokens.access_token.slice(0, -4)}AAAA`;
      assert.deepEqual((await introspect(forged)).body, { active: false });
      await t.app.services.oauth.grants.revokeGrant(
        decodeJwt(tokens.access_token).payload.grant_id as string,
        'test',
      );
      assert.deepEqual((await introspect(tokens.access_token)).body, { active: false });
    });

    // ---- 1.7 sign-in -------------------------------------------------------------------------------

    it('P3: locks an account after 10 failures, refusing even the right password', async () => {
      const user = await newUser();
      const attempt = async (password: string) => {
        const { jar, html } = await loginPage();
        const { action, csrf } = parseForm(html);
        return post(jar, action, { csrf, username: user.username, password });
      };
      for (let i = 0; i < 9; i++) assert.equal((await attempt('wrong password!')).status, 401);
      assert.equal((await attempt('wrong password!')).status, 429);
      const right = await attempt(PASSWORD);
      assert.equal(right.status, 429);
      assert.equal(right.headers.get('location'), null);
    });

    it('P3: an unknown username gets the same answers as a known one (no enumeration)', async () => {
      const attempt = async (username: string) => {
        const { jar, html } = await loginPage();
        const { action, csrf } = parseForm(html);
        const response = await post(jar, action, { csrf, username, password: 'wrong password!' });
        const body = await response.text();
        return { status: response.status, error: /role="alert"[^>]*>([^<]*)</.exec(body)?.[1] };
      };
      const known = await newUser();
      const statuses = { known: [] as unknown[], unknown: [] as unknown[] };
      for (let i = 0; i < 11; i++) {
        statuses.known.push(await attempt(known.username));
        statuses.unknown.push(await attempt('nobody-here'));
      }
      assert.deepEqual(statuses.unknown, statuses.known);
    });

    it('P6: the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
      const user = await newUser();
      const { jar, html } = await loginPage();
      const { action, csrf } = parseForm(html);
      let response = await post(jar, action, { csrf, username: user.username, password: PASSWORD });
      let cookie: string | undefined;
      for (let i = 0; i < 5 && !cookie; i++) {
        cookie = response.headers.getSetCookie().find((c) => c.startsWith('__Host-sr_session='));
        const location = response.headers.get('location');
        if (!location) break;
        response = await jarFetch(jar, new URL(location, baseUrl).href);
      }
      assert.ok(cookie, 'session cookie set');
      assert.match(cookie, /; path=\//i);
      assert.match(cookie, /; secure/i);
      assert.match(cookie, /; httponly/i);
      assert.match(cookie, /; samesite=lax/i);
      assert.doesNotMatch(cookie, /; domain=/i);
    });

    it('T3: a code older than 60 seconds is refused (moved clock)', async () => {
      const user = await newUser();
      const result = await authorize({
        baseUrl,
        clientId: a.clientId,
        redirectUri: REDIRECT,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
      });
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 61_000 });
      try {
        await assert.rejects(
          tokenRequest(
            { baseUrl, ...a },
            {
              grant_type: 'authorization_code',
              code: result.code as string,
              redirect_uri: REDIRECT,
              code_verifier: result.codeVerifier,
            },
          ),
          (e: OAuthFlowError) => e.error === 'invalid_grant',
        );
      } finally {
        mock.timers.reset();
      }
    });

    it('R5: a refresh token past its lifetime is refused (moved clock)', async () => {
      const tokens = await codeTokens(a);
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 25 * 3600_000 });
      try {
        await assert.rejects(
          refresh({ baseUrl, ...a, refreshToken: tokens.refresh_token as string }),
          (e: OAuthFlowError) => e.error === 'invalid_grant',
        );
      } finally {
        mock.timers.reset();
      }
    });

    it('P5: signing in again gives a new session id and the old one stops working', async () => {
      const user = await newUser();
      const jar = createCookieJar();
      await authorize({
        baseUrl,
        clientId: pub.clientId,
        redirectUri: NATIVE,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
        jar,
      });
      const first = jar.cookies.get('__Host-sr_session')?.value;
      assert.ok(first);
      await authorize({
        baseUrl,
        clientId: pub.clientId,
        redirectUri: NATIVE,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
        jar,
        extraParams: { prompt: 'login' },
      });
      const second = jar.cookies.get('__Host-sr_session')?.value;
      assert.ok(second);
      assert.notEqual(second, first);
      // The old session id no longer signs anybody in: a request with it lands on the login page.
      const stale = createCookieJar();
      stale.cookies.set('__Host-sr_session', { value: first, path: '/' });
      for (const name of ['__Host-sr_session.sig']) {
        const sig = jar.cookies.get(name);
        if (sig) stale.cookies.set(name, { value: sig.value, path: '/' });
      }
      const start = await jarFetch(stale, authorizeUrl({ client_id: pub.clientId, redirect_uri: NATIVE }));
      const page = await jarFetch(stale, new URL(start.headers.get('location') as string, baseUrl).href);
      assert.match(await page.text(), /name="password"/);
    });

    it('PAR: pushes an authorization request for an authenticated client only, and checks its scopes', async () => {
      const basic = `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}`;
      const { challenge } = pkcePair();
      const params = {
        client_id: a.clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'banking/read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const pushed = await fetch(`${baseUrl}/auth/oauth2/par`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams(params).toString(),
      });
      assert.equal(pushed.status, 201);
      const { request_uri: requestUri, expires_in: expiresIn } = (await pushed.json()) as {
        request_uri: string;
        expires_in: number;
      };
      assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:/);
      assert.ok(expiresIn < 600);
      const start = await fetch(
        `${baseUrl}/auth/oauth2/authorize?client_id=${a.clientId}&request_uri=${encodeURIComponent(requestUri)}`,
        { redirect: 'manual' },
      );
      assert.equal(start.status, 303);
      assert.match(start.headers.get('location') ?? '', /\/auth\/interaction\//);
      const unauthenticated = await fetch(`${baseUrl}/auth/oauth2/par`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
      });
      assert.equal(unauthenticated.status, 401);
      const unknownScope = await fetch(`${baseUrl}/auth/oauth2/par`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ ...params, scope: 'banking/read what/ever' }).toString(),
      });
      assert.equal(unknownScope.status, 400);
      assert.equal(((await unknownScope.json()) as { error: string }).error, 'invalid_scope');
    });

    it('A14: never fetches a request_uri from an arbitrary URL', async () => {
      let connections = 0;
      const { createServer } = await import('node:net');
      const trap = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
      const port = (trap.address() as { port: number }).port;
      try {
        const response = await fetch(
          `${baseUrl}/auth/oauth2/authorize?client_id=${a.clientId}&request_uri=${encodeURIComponent(`https://127.0.0.1:${port}/x`)}`,
          { redirect: 'manual' },
        );
        assert.ok([302, 303, 400].includes(response.status));
        const location = response.headers.get('location');
        if (location)
          assert.match(
            new URL(location).searchParams.get('error') ?? '',
            /invalid_request_uri|request_uri_not_supported|invalid_request/,
          );
        assert.equal(connections, 0);
      } finally {
        trap.close();
      }
    });

    it('L1: passwords, codes, verifiers and tokens never reach the logs', async () => {
      const user = await newUser();
      const result = await authorize({
        baseUrl,
        clientId: a.clientId,
        redirectUri: REDIRECT,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
      });
      const tokens = await tokenRequest(
        { baseUrl, ...a },
        {
          grant_type: 'authorization_code',
          code: result.code as string,
          redirect_uri: REDIRECT,
          code_verifier: result.codeVerifier,
        },
      );
      await refresh({ baseUrl, ...a, refreshToken: tokens.refresh_token as string });
      const logs = t.logs.text();
      for (const secret of [
        PASSWORD,
        result.code as string,
        result.codeVerifier,
        tokens.access_token,
        tokens.refresh_token as string,
        a.clientSecret,
      ])
        assert.equal(logs.includes(secret), false);
    });

    it('R5: a confidential client’s refresh token slides on use but stops at the absolute lifetime', async () => {
      await t.app.services.oauth.clients.update(a.clientId, {
        lifetimes: { refreshTokenIdle: 3600, refreshTokenAbsolute: 3 * 3600 },
      });
      const tokens = await codeTokens(a);
      const start = Date.now();
      try {
        for (const hours of [0.9, 1.8, 2.7]) {
          mock.timers.enable({ apis: ['Date'], now: start + hours * 3600_000 });
          assert.ok(
            await refresh({ baseUrl, ...a, refreshToken: tokens.refresh_token as string }),
            `refresh at ${hours} h`,
          );
          mock.timers.reset();
        }
        mock.timers.enable({ apis: ['Date'], now: start + 3.05 * 3600_000 });
        await assert.rejects(
          refresh({ baseUrl, ...a, refreshToken: tokens.refresh_token as string }),
          (e: OAuthFlowError) => e.error === 'invalid_grant',
        );
      } finally {
        mock.timers.reset();
        await t.app.services.oauth.clients.update(a.clientId, { lifetimes: {} });
      }
    });

    it('#35: answers 429 after 100 wrong client secrets from one address in a minute', async () => {
      const attempt = () =>
        fetch(`${baseUrl}/auth/oauth2/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${b.clientId}:wrong`).toString('base64')}`,
          },
          body: 'grant_type=client_credentials&scope=banking%2Fread',
        });
      const statuses: number[] = [];
      for (let i = 0; i < 105; i++) statuses.push((await attempt()).status);
      assert.ok(statuses.slice(0, 90).every((s) => s === 401));
      const last = await attempt();
      assert.equal(last.status, 429);
      assert.ok(Number(last.headers.get('retry-after')) >= 1);
    });

    it('P7: a session idle for longer than 15 minutes no longer signs the user in', async () => {
      const user = await newUser();
      const jar = createCookieJar();
      await authorize({
        baseUrl,
        clientId: pub.clientId,
        redirectUri: NATIVE,
        username: user.username,
        password: PASSWORD,
        scope: 'banking/read',
        jar,
      });
      const silent = async () => {
        let response = await jarFetch(jar, authorizeUrl({ client_id: pub.clientId, redirect_uri: NATIVE }));
        for (let i = 0; i < 6; i++) {
          const location = response.headers.get('location');
          if (!location) break;
          if (location.startsWith(NATIVE)) return 'code';
          response = await jarFetch(jar, new URL(location, baseUrl).href);
        }
        return /name="password"/.test(await response.text()) ? 'login' : `other ${response.status}`;
      };
      assert.equal(await silent(), 'code');
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 16 * 60_000 });
      try {
        assert.equal(await silent(), 'login');
      } finally {
        mock.timers.reset();
      }
    });

    it('an operator without TOTP enrols at sign-in, sees recovery codes once, then gets a code', async () => {
      users += 1;
      const user = await t.app.services.identity.createUser({
        username: `teller${users}`,
        password: PASSWORD,
        roles: ['teller'],
      });
      const { jar, html } = await loginPage(createCookieJar(), {
        client_id: pub.clientId,
        redirect_uri: NATIVE,
      });
      const login = parseForm(html);
      const afterLogin = await post(jar, login.action, {
        csrf: login.csrf,
        username: user.username,
        password: PASSWORD,
      });
      assert.equal(afterLogin.status, 303);
      const enrolPage = await (
        await jarFetch(jar, new URL(afterLogin.headers.get('location') as string, baseUrl).href)
      ).text();
      const secret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(enrolPage)?.[1];
      assert.ok(secret, 'the enrolment page shows the key');
      const { generate } = await import('otplib');
      const enrol = parseForm(enrolPage);
      const confirmed = await post(jar, enrol.action, {
        csrf: enrol.csrf,
        otp: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }),
      });
      assert.equal(confirmed.status, 303);
      const codesPage = await (
        await jarFetch(jar, new URL(confirmed.headers.get('location') as string, baseUrl).href)
      ).text();
      assert.equal(codesPage.match(/[0-9a-f]{5}-[0-9a-f]{5}-[0-9a-f]{5}-[0-9a-f]{5}/g)?.length, 10);
      const next = parseForm(codesPage);
      let response = await post(jar, next.action, { csrf: next.csrf });
      for (let i = 0; i < 5 && !(response.headers.get('location') ?? '').startsWith(NATIVE); i++)
        response = await jarFetch(jar, new URL(response.headers.get('location') as string, baseUrl).href);
      assert.ok(new URL(response.headers.get('location') as string).searchParams.get('code'));
      assert.equal((await t.app.services.identity.getUser(user.id))?.mfaEnrolled, true);
    });

    // ---- developer self-registration -----------------------------------------------------------------

    it('registers a developer account with a CSRF-protected form (303) and refuses weak passwords', async () => {
      const jar = createCookieJar();
      const page = await jarFetch(jar, `${baseUrl}/auth/register`);
      assert.equal(page.status, 200);
      const { action, csrf } = parseForm(await page.text());
      const weak = await post(jar, action, { csrf, username: 'newdev', password: 'password1' });
      assert.equal(weak.status, 400);
      const forged = await post(createCookieJar(), action, { csrf, username: 'newdev', password: PASSWORD });
      assert.equal(forged.status, 403);
      const ok = await post(jar, action, { csrf, username: 'newdev', password: PASSWORD });
      assert.equal(ok.status, 303);
      const user = await t.app.services.identity.getUser('newdev');
      assert.deepEqual(user?.roles, ['developer']);
    });
  });
}
