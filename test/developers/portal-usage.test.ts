import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isoAt } from '../../src/lib/clock.ts';
import { cliActor } from '../../src/modules/developers/index.ts';
import { type CookieJar, createCookieJar, followAuthorization, jarFetch } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';

const DAY = 86_400_000;

/** Issue 13 item 5: the application page's usage charts per key and per operation, over a chosen period. */
for (const dialect of testDialects()) {
  describe(`${dialect}: portal usage charts with a date range`, () => {
    let t: DemoServer;
    let jar: CookieJar;
    let appId: string;
    let page: string;
    const keys: { id: string; name: string }[] = [];
    let today: number;
    let recordedAt: number;
    const day = (offset: number) => isoAt(today + offset * DAY).slice(0, 10);

    const show = async (query = '') => {
      const response = await jarFetch(jar, `${t.demo.baseUrl}/portal/applications/${appId}${query}`);
      return { response, page: await response.text() };
    };
    const totalOf = (html: string, title: string) =>
      Number(
        new RegExp(`<strong>${title}</strong> <span class="muted small">\\(total (\\d+)\\)`).exec(html)?.[1],
      );

    before(async () => {
      t = await startDemoServer({ dialect });
      const dev = t.app.services.developers;
      appId = t.demo.apps.mobile?.applicationId ?? '';
      for (const label of ['first', 'second']) {
        const { view } = await dev.apiKeys.create({ clientApplicationId: appId, label }, cliActor);
        keys.push({ id: view.id, name: `${view.prefix}…${view.last4}` });
      }
      const now = t.app.context.clock.now();
      recordedAt = now;
      today = Math.floor(now / DAY) * DAY;
      const record = (key: number, operationId: string, at: number, times = 1) => {
        for (let i = 0; i < times; i++)
          dev.usage.record({
            keyId: keys[key]?.id ?? '',
            applicationId: appId,
            api: 'accounts',
            operationId,
            status: 200,
            at,
            abuseExempt: false,
          });
      };
      record(0, 'getAccounts', now, 3);
      record(0, 'getTransactions', today - 5 * DAY + 1000, 2);
      record(1, 'getAccounts', now, 1);
      record(0, 'getAccounts', today - 20 * DAY + 1000, 4);
      const ivan = t.demo.users.find((u) => u.username === 'ivan');
      jar = createCookieJar();
      const callback = await followAuthorization(jar, `${t.demo.baseUrl}/portal/login`, {
        baseUrl: t.demo.baseUrl,
        redirectUri: `${t.demo.baseUrl}/portal/callback`,
        username: 'ivan',
        password: ivan?.password ?? '',
        totpSecret: ivan?.totpSecret,
      });
      assert.equal((await jarFetch(jar, callback.toString())).status, 303);
      page = (await show()).page;
    });
    after(() => t.close());

    it('shows the last 14 days by default, with a from/to/key form', async () => {
      assert.match(page, new RegExp(`<input id="usage-from" name="from" type="date" value="${day(-13)}"`));
      assert.match(page, new RegExp(`<input id="usage-to" name="to" type="date" value="${day(0)}"`));
      assert.match(page, new RegExp(`<option value="${keys[1]?.id}">`));
      assert.equal(totalOf(page, 'Calls per day'), 6, 'the call 20 days ago is outside');
    });

    it('charts calls per key and per operation', async () => {
      assert.equal(totalOf(page, 'Calls per key'), 6);
      assert.match(
        page,
        new RegExp(`<desc id="calls-per-key-desc">[^<]*${keys[0]?.name}: 5, ${keys[1]?.name}: 1`),
      );
      assert.match(
        page,
        /<desc id="calls-per-operation-desc">accounts getAccounts: 4, accounts getTransactions: 2</,
      );
    });

    it('takes a date range and a single key from the query', async () => {
      const wide = await show(`?from=${day(-30)}&to=${day(0)}`);
      assert.equal(wide.response.status, 200);
      assert.equal(totalOf(wide.page, 'Calls per day'), 10);
      const narrow = await show(`?from=${day(-6)}&to=${day(-1)}`);
      assert.equal(totalOf(narrow.page, 'Calls per day'), 2);
      assert.match(narrow.page, /<desc id="calls-per-operation-desc">accounts getTransactions: 2</);
      const oneKey = await show(`?key=${keys[1]?.id}`);
      assert.equal(totalOf(oneKey.page, 'Calls per day'), 1);
      assert.match(oneKey.page, new RegExp(`<option value="${keys[1]?.id}" selected>`));
    });

    it('refuses a bad range or key with 400 naming each problem', async () => {
      for (const [query, message] of [
        ['?from=2026-02-30', /from: must be a date/],
        ['?to=tomorrow', /to: must be a date/],
        [`?from=${day(-1)}&to=${day(-2)}`, /from: must not be after to/],
        [`?to=${day(1)}`, /to: must not be after today/],
        [`?from=${day(-100)}&to=${day(0)}`, /at most 92 days/],
        ['?key=key_notThisAppsKey000001', /key: is not a key of this application/],
      ] as const) {
        const { response, page: body } = await show(query);
        assert.equal(response.status, 400, query);
        assert.match(body, message, query);
      }
    });

    it('shows when each key was last used (its latest minute), and "never" for a key not used yet', async () => {
      const idle = await t.app.services.developers.apiKeys.create(
        { clientApplicationId: appId, label: 'idle' },
        cliActor,
      );
      const { page } = await show();
      const lastUsed = (id: string) =>
        new RegExp(`<tr id="key-${id}">[\\s\\S]*?data-label="Last used">([^<]*)<`).exec(page)?.[1];
      const minute = isoAt(Math.floor(recordedAt / 60_000) * 60_000)
        .slice(0, 16)
        .replace('T', ' ');
      assert.equal(lastUsed(keys[0]?.id ?? ''), minute);
      assert.equal(lastUsed(keys[1]?.id ?? ''), minute);
      assert.equal(lastUsed(idle.view.id), 'never');
    });
  });
}
