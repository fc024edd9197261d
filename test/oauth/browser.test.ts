import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import { launchChromium, trustServerCertificates } from '../helpers/browser.ts';
import { decodeJwt, pkcePair, tokenRequest } from '../helpers/oauth-flow.ts';
import { startDemoServer, type TestApp } from '../helpers/test-app.ts';

const REDIRECT = 'https://client.example/cb';

// One browser run is enough: the pages do not depend on the database.
describe('sign-in in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let client: { clientId: string; clientSecret: string };

  before(async () => {
    t = await startDemoServer();
    client = (await t.app.services.oauth.clients.register({
      name: 'Teller Desk',
      kind: 'confidential',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      allowedScopes: ['banking/read', 'profile/read'],
      organizationName: 'Fintech Labs',
    })) as typeof client;
    browser = await launchChromium(trustServerCertificates(t.dataDir));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('goes through login → MFA → consent → redirect with a code that exchanges for tokens', async () => {
    const demo = await readDemoFile(t.dataDir);
    const tom = demo?.users.find((u) => u.username === 'tom');
    assert.ok(tom?.totpSecret);
    const baseUrl = t.config.publicUrl;
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    let callback: URL | undefined;
    await page.route('https://client.example/**', async (route) => {
      callback = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'client received the code' });
    });
    const { verifier, challenge } = pkcePair();
    const url = new URL(`${baseUrl}/auth/oauth2/authorize`);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: REDIRECT,
      scope: 'banking/read profile/read',
      state: 'browser-state',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(k, v);

    await page.goto(url.href);
    assert.equal(await page.title(), `Sign in — ${t.config.institutionName}`);
    await page.getByLabel('Username').fill('tom');
    await page.getByLabel('Password').fill(tom.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByLabel('Verification code').waitFor();
    await page
      .getByLabel('Verification code')
      .fill(await generate({ secret: tom.totpSecret, epoch: Math.floor(Date.now() / 1000) }));
    await page.getByRole('button', { name: 'Verify' }).click();

    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    const consentText = await page.textContent('main');
    assert.match(consentText ?? '', /Teller Desk/);
    assert.match(consentText ?? '', /Fintech Labs/);
    assert.match(consentText ?? '', /See your accounts/);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((u) => u.href.startsWith(REDIRECT));
    await context.close();

    assert.ok(callback);
    assert.equal(callback.searchParams.get('state'), 'browser-state');
    assert.equal(callback.searchParams.get('iss'), `${baseUrl}/auth`);
    const tokens = await tokenRequest(
      { baseUrl, ...client },
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') as string,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      },
    );
    assert.equal(tokens.scope, 'banking/read profile/read');
    assert.equal(decodeJwt(tokens.access_token).payload.sub, tom.id);
  });
});
