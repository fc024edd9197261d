import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCookieJar, jarFetch, parseForm, pkcePair } from '../helpers/oauth-flow.ts';
import { startServer, type TestServer } from '../helpers/test-app.ts';

const REDIRECT = 'https://client.example/cb';
const PASSWORD = 'a long and unusual passphrase 9';

/**
 * Issue 10 item 16: the registration page greets only the name it signed for this browser (never one
 * taken from the URL as is), and the lockout page says when to retry (`Retry-After`).
 */
describe('registration done page and lockout page', () => {
  let t: TestServer;
  let clientId: string;

  before(async () => {
    t = await startServer();
    const client = await t.app.services.oauth.clients.register({
      name: 'Pages Test',
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

  const post = (jar: ReturnType<typeof createCookieJar>, url: string, values: Record<string, string>) =>
    jarFetch(jar, new URL(url, t.baseUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(values).toString(),
    });

  it('/auth/register/done?u=fiona does not greet a name from the URL', async () => {
    const res = await fetch(`${t.baseUrl}/auth/register/done?u=fiona`);
    assert.equal(res.status, 200);
    const page = await res.text();
    assert.match(page, /Your developer account is ready/);
    assert.doesNotMatch(page, /fiona/i);
  });

  it('after registering, the browser that registered is greeted by its name, and only that browser', async () => {
    const jar = createCookieJar();
    const { action, csrf } = parseForm(await (await jarFetch(jar, `${t.baseUrl}/auth/register`)).text());
    const created = await post(jar, action, { csrf, username: 'newdev', password: PASSWORD });
    assert.equal(created.status, 303);
    const done = new URL(String(created.headers.get('location')), t.baseUrl);
    assert.equal(done.pathname, '/auth/register/done');
    assert.match(await (await jarFetch(jar, done.href)).text(), /Welcome, newdev\./);
    // The same link in another browser, or with another name, greets nobody.
    assert.doesNotMatch(await (await fetch(done.href)).text(), /newdev/);
    done.searchParams.set('u', 'fiona');
    assert.doesNotMatch(await (await jarFetch(jar, done.href)).text(), /fiona|Welcome,/);
  });

  it('the lockout page carries Retry-After', async () => {
    await t.app.services.identity.createUser({ username: 'lockme', password: PASSWORD, roles: ['customer'] });
    const attempt = async () => {
      const jar = createCookieJar();
      const url = new URL(`${t.baseUrl}/auth/oauth2/authorize`);
      for (const [key, value] of Object.entries({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        scope: 'banking/read',
        state: 'lock',
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      }))
        url.searchParams.set(key, value);
      const start = await jarFetch(jar, url.href);
      const page = await jarFetch(jar, new URL(start.headers.get('location') as string, t.baseUrl).href);
      const { action, csrf } = parseForm(await page.text());
      return post(jar, action, { csrf, username: 'lockme', password: 'wrong password!' });
    };
    for (let i = 0; i < 9; i++) assert.equal((await attempt()).status, 401);
    const locked = await attempt();
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), '900');
    assert.match(await locked.text(), /Too many failed attempts/);
  });
});
