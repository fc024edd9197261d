import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, trustServerCertificates } from '../helpers/browser.ts';
import { startDemoServer, type TestApp } from '../helpers/test-app.ts';

interface DemoUser {
  username: string;
  password: string;
  scopes: string[];
}

// Issue 13's walk-through in a real browser: a new developer signs up, registers an application, reads
// its getting-started page, presses "Authorize" in the API reference (PKCE, the app's own client id, the
// /portal/oauth2-redirect page) and tries an operation that needs an access token: 200.
describe('a new developer’s first hour in a real browser', () => {
  let t: TestApp & { demo: { users: DemoUser[]; sandboxUsers?: DemoUser[] } };
  let browser: Browser;
  const cspViolations: string[] = [];

  before(async () => {
    t = (await startDemoServer()) as typeof t;
    browser = await launchChromium(trustServerCertificates(t.dataDir));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const watch = (page: Page) => {
    if (process.env.DEBUG_BROWSER) page.on('pageerror', (error) => console.log('[pageerror]', error));
    page.on('console', (message) => {
      if (process.env.DEBUG_BROWSER) console.log('[browser]', message.text());
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
  };

  it('sign up → application → getting started → Authorize in the API reference → an access-token operation answers 200', async () => {
    const baseUrl = t.config.publicUrl;
    const context = await browser.newContext();
    const page = await context.newPage();
    watch(page);
    const authorizeRequests: URL[] = [];
    context.on('request', (request) => {
      if (request.url().includes('/auth/oauth2/authorize?')) authorizeRequests.push(new URL(request.url()));
    });

    // Sign up, then sign in to the portal.
    await page.goto(`${baseUrl}/portal`);
    await page.getByRole('link', { name: 'Create a developer account' }).click();
    await page.fill('#username', 'robin');
    await page.fill('#password', 'robin picks a long passphrase 4');
    await page.getByRole('button', { name: /create|register|sign up/i }).click();
    await page.getByRole('link', { name: /developer portal/i }).click();
    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.fill('input[name="username"]', 'robin');
    await page.fill('input[name="password"]', 'robin picks a long passphrase 4');
    await page.locator('form button[type="submit"]').first().click();
    await page.waitForURL(/\/portal$/);

    // An organization and a web application (confidential: it has a client secret).
    await page.fill('#org-name', 'Robin Apps');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL(/\/portal\/organizations\/org_/);
    await page.fill('#app-name', 'Robin Budget');
    await page.selectOption('#app-kind', 'web');
    await page.fill('#app-redirects', 'https://robin.example/callback');
    await page.getByRole('button', { name: 'Register application' }).click();
    await page.waitForURL(/\/portal\/applications\/app_/);
    const apiKey = (await page.textContent('#fresh-api-key'))?.trim() ?? '';
    const clientId = (await page.textContent('#fresh-client-id'))?.trim() ?? '';
    const clientSecret = (await page.textContent('#fresh-client-secret'))?.trim() ?? '';
    assert.match(apiKey, /^srk_test_/);
    assert.ok(clientSecret.length >= 22);

    // The application page fits a 375 px phone screen: no sideways scrolling, key actions reachable.
    const appUrl = page.url();
    await page.setViewportSize({ width: 375, height: 812 });
    await page.reload();
    // A string, so this Node-side file needs no DOM types.
    const widths = (await page.evaluate(`({
      page: document.documentElement.scrollWidth,
      wide: [...document.querySelectorAll('main *')]
        .filter((e) => e.getBoundingClientRect().right > 376)
        .slice(0, 5)
        .map((e) => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)),
    })`)) as { page: number; wide: string[] };
    assert.ok(widths.page <= 375, `the page is ${widths.page} px wide: ${widths.wide.join(', ')}`);
    for (const name of [/^Rotate$/, /^Revoke key/]) {
      const box = await page
        .getByRole(name.source.startsWith('^Revoke') ? 'link' : 'button', { name })
        .first()
        .boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `${name} is on screen`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.equal(page.url(), appUrl);

    // Getting started: the app's real client id in the snippets.
    await page.getByRole('link', { name: 'Getting started' }).click();
    await page.waitForURL(/\/getting-started$/);
    assert.ok(((await page.textContent('#gs-curl-key')) ?? '').includes('-H "API-Key: $STRONGROOM_API_KEY"'));
    assert.ok(((await page.textContent('#gs-sdk-code')) ?? '').includes(`clientId: '${clientId}'`));
    await page.getByRole('link', { name: '← Robin Budget' }).click();

    // The API reference, for this app.
    await page.getByRole('link', { name: 'Try it in the API reference' }).click();
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 60_000 });
    // Its version badges are readable: white text on each badge's background at ≥ 4.5:1 (WCAG AA).
    const badges = (await page.evaluate(
      `[...document.querySelectorAll('.swagger-ui .info .title small')].map((el) => getComputedStyle(el).backgroundColor)`,
    )) as string[];
    assert.ok(badges.length > 0, 'the reference shows version badges');
    for (const colour of badges) assert.ok(contrastWithWhite(colour) >= 4.5, `badge background ${colour}`);
    await page.locator('.swagger-ui button.authorize').first().click();
    const dialog = page.locator('.swagger-ui .modal-ux');
    const keySection = dialog.locator('.auth-container').filter({ hasText: 'API-Key' });
    await keySection.locator('input').first().fill(apiKey);
    await keySection.getByRole('button', { name: 'Apply credentials' }).click();
    const tokenSection = dialog.locator('.auth-container').filter({ hasText: 'authorizationCode' });
    assert.equal(await tokenSection.locator('input[data-name="clientId"]').inputValue(), clientId);
    await tokenSection.locator('input[data-name="clientSecret"]').fill(clientSecret);

    // "Authorize" opens the sign-in window; a customer signs in and consents; the window closes itself.
    const customer = t.demo.sandboxUsers?.[0] ?? t.demo.users.find((u) => u.username === 'alice');
    assert.ok(customer);
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      tokenSection.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click(),
    ]);
    watch(popup);
    await popup
      .locator('input[name="username"]')
      .waitFor()
      .catch(async (error) => {
        throw new Error(`no sign-in page at ${popup.url()}: ${await popup.textContent('main')}`, {
          cause: error,
        });
      });
    const authorizeUrl = authorizeRequests.at(-1) ?? new URL(popup.url());
    assert.equal(authorizeUrl.searchParams.get('client_id'), clientId);
    assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizeUrl.searchParams.get('prompt'), 'login');
    assert.equal(authorizeUrl.searchParams.get('redirect_uri'), `${baseUrl}/portal/oauth2-redirect`);
    await popup.fill('input[name="username"]', customer.username);
    await popup.fill('input[name="password"]', customer.password);
    await popup.locator('form button[type="submit"]').first().click();
    // Listen before approving: the window may close before a later listener would be attached.
    const closed = popup.waitForEvent('close', { timeout: 60_000 });
    await popup.locator('button[name="decision"][value="approve"]').click();
    await closed;
    await tokenSection.getByRole('button', { name: 'Remove authorization' }).waitFor({ timeout: 60_000 });
    await dialog.locator('button.close-modal').click();

    // Try GET /accounts (API key + access token with banking/read).
    const operation = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/accounts"])').first();
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.getByRole('button', { name: 'Execute' }).click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 20_000 });
    assert.equal((await status.textContent())?.trim(), '200');
    const body = (await operation.locator('.live-responses-table .microlight').first().textContent()) ?? '';
    assert.match(body, /"items"/);

    await context.close();
    assert.deepEqual(cspViolations, []);
  });
});

/** WCAG contrast ratio of white text on an `rgb(r, g, b)` background. */
function contrastWithWhite(colour: string): number {
  const [r, g, b] = (colour.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (luminance + 0.05);
}
