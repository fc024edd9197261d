import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { createCookieJar, jarFetch, parseForm, pkcePair } from '../helpers/oauth-flow.ts';
import { startServer, type TestServer, testDialects } from '../helpers/test-app.ts';

const REDIRECT = 'https://client.example/cb';
const PASSWORD = 'a long and unusual passphrase';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const LOCKED = 'Too many failed attempts. Wait 15 minutes and try again, or contact the institution.';

/** Issue 10 hardening of the authorization server (DESIGN.md §5.1): one behaviour per test. */
for (const dialect of testDialects()) {
  describe(`authorization-server hardening (${dialect})`, () => {
    let t: TestServer;
    let baseUrl: string;
    let client: { clientId: string; clientSecret: string };
    let users = 0;

    before(async () => {
      t = await startServer({ dialect });
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
  });
}
