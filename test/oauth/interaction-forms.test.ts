import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCookieJar, jarFetch, parseForm, pkcePair } from '../helpers/oauth-flow.ts';
import { startServer, type TestApp } from '../helpers/test-app.ts';

const REDIRECT = 'https://client.example/cb';
const PASSWORD = 'a long and unusual passphrase 9';
/** What a browser sends when a page withholds its origin (sandboxes, data: pages, cross-site redirects). */
const NULL_ORIGIN = { origin: 'null', 'sec-fetch-site': 'same-origin' };

// The form rule is the web plumbing's, the same on every database: one run is enough.
describe('sign-in pages: the one form rule', () => {
  let t: TestApp;
  let baseUrl: string;
  let clientId: string;
  let users = 0;

  before(async () => {
    const server = await startServer();
    t = server;
    baseUrl = server.baseUrl;
    const client = await t.app.services.oauth.clients.register({
      name: 'Forms Test',
      kind: 'confidential',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      allowedScopes: ['banking/read'],
      organizationName: 'Fintech Labs',
    });
    clientId = client.clientId;
  });
  after(() => t?.close());

  const post = (
    jar: ReturnType<typeof createCookieJar>,
    url: string,
    values: Record<string, string>,
    headers = {},
  ) =>
    jarFetch(jar, new URL(url, baseUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(values).toString(),
    });

  async function newUser() {
    users += 1;
    return t.app.services.identity.createUser({
      username: `forms${users}`,
      password: PASSWORD,
      roles: ['customer'],
    });
  }

  async function loginForm() {
    const jar = createCookieJar();
    const url = new URL(`${baseUrl}/auth/oauth2/authorize`);
    for (const [key, value] of Object.entries({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: 'banking/read',
      state: 'forms',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(key, value);
    const start = await jarFetch(jar, url.href);
    const page = await jarFetch(jar, new URL(start.headers.get('location') as string, baseUrl).href);
    return { jar, page, ...parseForm(await page.text()) };
  }

  it('sends its pages uncached with Referrer-Policy: same-origin, so our own forms post with our Origin', async () => {
    const { page } = await loginForm();
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('referrer-policy'), 'same-origin');
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });

  it('refuses the sign-in form with its token from a null or foreign Origin (403); accepts it from ours', async () => {
    const user = await newUser();
    const { jar, action, csrf } = await loginForm();
    const values = { csrf, username: user.username, password: PASSWORD };
    for (const headers of [
      NULL_ORIGIN,
      { origin: 'https://evil.test' },
      { 'sec-fetch-site': 'cross-site' },
    ]) {
      const refused = await post(jar, action, values, headers);
      assert.equal(refused.status, 403, JSON.stringify(headers));
      assert.equal(refused.headers.get('location'), null);
    }
    const accepted = await post(jar, action, values, { origin: baseUrl, 'sec-fetch-site': 'same-origin' });
    assert.equal(accepted.status, 303);
  });

  it("refuses consent from a null Origin even with the interaction's token: 403, no code", async () => {
    const user = await newUser();
    const { jar, action, csrf } = await loginForm();
    let location = (
      await post(jar, action, { csrf, username: user.username, password: PASSWORD })
    ).headers.get('location') as string;
    for (let i = 0; i < 5 && !location.includes('/auth/interaction/'); i++)
      location = (await jarFetch(jar, new URL(location, baseUrl).href)).headers.get('location') as string;
    const consent = parseForm(await (await jarFetch(jar, new URL(location, baseUrl).href)).text());
    const refused = await post(jar, consent.action, { csrf: consent.csrf, decision: 'approve' }, NULL_ORIGIN);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('location'), null);
  });

  it('refuses a token bound to another interaction (403)', async () => {
    const user = await newUser();
    const first = await loginForm();
    const second = await loginForm();
    const response = await post(first.jar, first.action, {
      csrf: second.csrf,
      username: user.username,
      password: PASSWORD,
    });
    assert.equal(response.status, 403);
  });

  it('refuses registration from another site even with a valid token, and creates no account', async () => {
    const jar = createCookieJar();
    const { action, csrf } = parseForm(await (await jarFetch(jar, `${baseUrl}/auth/register`)).text());
    const values = { csrf, username: 'crosssite', password: PASSWORD };
    assert.equal((await post(jar, action, values, { origin: 'https://evil.test' })).status, 403);
    assert.equal((await post(jar, action, values, NULL_ORIGIN)).status, 403);
    assert.equal(await t.app.services.identity.getUser('crosssite'), undefined);
  });
});
