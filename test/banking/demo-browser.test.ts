import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { launchChromium, trustServerCertificates } from '../helpers/browser.ts';
import { startDemoServer, type TestApp } from '../helpers/test-app.ts';

/** The /demo/ client in real Chromium: sign in as a customer, see the accounts, make a transfer. */
describe('the /demo/ browser client in Chromium', () => {
  let t: TestApp;
  let demo: DemoDocument;
  let browser: Browser;
  before(async () => {
    const server = await startDemoServer();
    t = server;
    demo = server.demo;
    browser = await launchChromium(trustServerCertificates(t.dataDir));
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  test('sign in as alice, see her accounts and balances, schedule a transfer, see it processed', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const alice = demo.users.find((u) => u.username === 'alice');
    assert.ok(alice);
    await page.goto(`${demo.baseUrl}/demo/`);
    await page.getByRole('button', { name: 'Sign in with the authorization server' }).click();
    await page.locator('input[name="username"]').fill('alice');
    await page.locator('input[name="password"]').fill(alice.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${demo.baseUrl}/demo/`);
    await page.getByRole('heading', { name: 'Hello, alice' }).waitFor();

    const rows = page.locator('table:has(caption:text("Your accounts")) tbody tr');
    assert.equal(await rows.count(), 3);
    const text = (await page.locator('table:has(caption:text("Your accounts"))').textContent()) ?? '';
    assert.match(text, /Everyday Checking/);
    assert.match(text, /Joint Household Checking/);
    assert.match(text, /\d+\.\d{2} USD/);

    const ids = await page
      .locator('#accounts-list option')
      .evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value));
    await page.locator('#source').fill(ids[0] as string);
    await page.locator('#target').fill(ids[1] as string);
    await page.locator('#amount').fill('12.34');
    await page.locator('#memo').fill('From the browser');
    await page.getByRole('button', { name: 'Schedule transfer' }).click();
    await page.getByRole('heading', { name: 'Transfer scheduled' }).waitFor();
    assert.match((await page.locator('.demo-answer').textContent()) ?? '', /→ 201/);

    // The processor runs transfers due today within seconds; reload until the list shows it processed.
    let state = '';
    for (let i = 0; i < 20 && state !== 'processed'; i++) {
      await page.goto(`${demo.baseUrl}/demo/`);
      state =
        (
          await page
            .locator('table:has(caption:text("Recent transfers")) tbody tr .badge')
            .first()
            .textContent()
        )?.trim() ?? '';
      if (state !== 'processed') await page.waitForTimeout(250);
    }
    assert.equal(state, 'processed');

    await page.locator('table:has(caption:text("Your accounts")) tbody tr a').first().click();
    await page.locator('table:has(caption:text("Transactions"))').waitFor();
    assert.match(
      (await page.locator('table:has(caption:text("Transactions"))').textContent()) ?? '',
      /From the browser|\d/,
    );
    await context.close();
  });
});
