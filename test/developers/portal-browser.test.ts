import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, trustServerCertificates } from '../helpers/browser.ts';
import { startDemoServer, type TestApp } from '../helpers/test-app.ts';

// One browser run is enough: the portal pages do not depend on the database dialect.
describe('developer portal in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  const cspViolations: string[] = [];

  before(async () => {
    t = await startDemoServer();
    browser = await launchChromium(trustServerCertificates(t.dataDir));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
  };

  it('sign up → organization → application → key shown once → revoke', async () => {
    const baseUrl = t.config.publicUrl;
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    watch(page);

    // Sign up as a developer, then continue to the portal and sign in.
    await page.goto(`${baseUrl}/portal`);
    await page.getByRole('link', { name: 'Create a developer account' }).click();
    await page.fill('#username', 'pat');
    await page.fill('#password', 'a long and unusual passphrase 7');
    await page.getByRole('button', { name: /create|register|sign up/i }).click();
    await page.getByRole('link', { name: /developer portal/i }).click();
    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.fill('input[name="username"]', 'pat');
    await page.fill('input[name="password"]', 'a long and unusual passphrase 7');
    await page.locator('form button[type="submit"]').first().click();
    await page.waitForURL(/\/portal$/);
    assert.match((await page.textContent('body')) ?? '', /Signed in as\s+pat/);

    // Create an organization.
    await page.fill('#org-name', 'Pat Payments');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL(/\/portal\/organizations\/org_/);
    assert.equal(await page.textContent('h1'), 'Pat Payments');

    // Register an application: the key and the client secret are shown once.
    await page.fill('#app-name', 'Pat Budget');
    await page.selectOption('#app-kind', 'web');
    await page.fill('#app-redirects', 'https://pat.example/callback');
    await page.getByRole('button', { name: 'Register application' }).click();
    await page.waitForURL(/\/portal\/applications\/app_/);
    const key = (await page.textContent('#fresh-api-key'))?.trim() ?? '';
    const secret = (await page.textContent('#fresh-client-secret'))?.trim() ?? '';
    assert.match(key, /^srk_test_[0-9A-Za-z]{20}_[0-9A-Za-z]{38}$/);
    assert.ok(secret.length >= 22);
    assert.equal(await page.isVisible('button.copy-button'), true, 'copy buttons appear with JavaScript');
    const verified = await t.app.services.developers.keyVerifier.verify(key);
    assert.equal(verified.ok, true);

    // Shown once: a reload shows neither.
    await page.reload();
    const body = (await page.textContent('body')) ?? '';
    assert.ok(!body.includes(key) && !body.includes(secret));
    assert.equal(await page.locator('#fresh-api-key').count(), 0);
    assert.match(body, new RegExp(`${key.slice(0, 30)}…${key.slice(-4)}`));

    // Revoke: effective on the very next call.
    await page
      .getByRole('link', { name: /^Revoke key/ })
      .first()
      .click();
    await page.waitForURL(/\/portal\/keys\/key_.*\/revoke$/);
    await page.getByRole('button', { name: 'Revoke the key' }).click();
    await page.waitForURL(/\/portal\/applications\/app_/);
    assert.match(
      (await page.textContent('[role="status"]')) ?? '',
      /is revoked: calls with it now answer 401/,
    );
    assert.match((await page.textContent('table')) ?? '', /revoked/);
    assert.deepEqual(await t.app.services.developers.keyVerifier.verify(key), {
      ok: false,
      reason: 'revoked',
    });
    const call = await fetch(`${baseUrl}/apiKeys/`, { headers: { 'api-key': key } });
    assert.equal(call.status, 401);

    // The usage charts and the API reference render under the CSP.
    assert.ok((await page.locator('figure.chart svg').count()) >= 2);
    await page.goto(`${baseUrl}/portal/apis/apiKeys`);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 60_000 });
    assert.ok((await page.locator('.opblock').count()) >= 7);
    await context.close();
    assert.deepEqual(cspViolations, []);
  });

  it('refuses a form without the CSRF token and a callback without the login state', async () => {
    const baseUrl = t.config.publicUrl;
    const noState = await fetch(`${baseUrl}/portal/callback?code=abc&state=xyz`, { redirect: 'manual' });
    assert.equal(noState.status, 400);
    const forged = await fetch(`${baseUrl}/portal/organizations`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=Evil',
    });
    // Without a session: sent to sign in, nothing created.
    assert.equal(forged.status, 303);
    assert.match(forged.headers.get('location') ?? '', /^\/portal\/login/);
  });
});
