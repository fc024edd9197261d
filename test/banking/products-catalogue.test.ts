import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PRODUCTS_TOPIC } from '../../src/banking/products/products-catalogue.ts';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { timeUntil } from '../helpers/wait.ts';

// Issue 12 item 3: the product catalogue is served from memory and follows the change log.
for (const dialect of testDialects()) {
  describe(`product catalogue from memory (${dialect})`, () => {
    let t: TestApp;
    let apiKey: string;
    before(async () => {
      t = await createTestApp({ dialect, args: ['--demo'] });
      const demo = await readDemoFile(t.dataDir);
      apiKey = demo?.apps.loadTest?.apiKey ?? '';
      assert.ok(apiKey);
    });
    after(() => t.close());

    const list = async (url = '/products/products') => {
      const response = await t.app.http.inject({ method: 'GET', url, headers: { 'api-key': apiKey } });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^application\/json; charset=utf-8$/);
      return response.json() as { items: { id: string; name: string; category: string }[]; count: number };
    };
    const rename = (id: string, name: string) =>
      t.app.context.db.updateTable('banking_products').set({ name }).where('id', '=', id).execute();

    test('a listing and an item are answered from memory until a products change', async () => {
      const first = await list();
      const product = first.items[0];
      assert.ok(product);
      await rename(product.id, 'Renamed without a change record');
      assert.equal((await list()).items[0]?.name, product.name, 'no change record: the copy in memory');
      await rename(product.id, 'Renamed and announced');
      await t.app.context.changes.publish(PRODUCTS_TOPIC, product.id);
      const elapsed = await timeUntil(async () => (await list()).items[0]?.name === 'Renamed and announced', {
        timeoutMs: 3000,
      });
      assert.ok(elapsed < 1000, `the edit showed after ${Math.round(elapsed)} ms`);
      const item = await t.app.http.inject({
        method: 'GET',
        url: `/products/products/${product.id}`,
        headers: { 'api-key': apiKey },
      });
      assert.equal(item.statusCode, 200);
      assert.equal(item.json().name, 'Renamed and announced');
    });

    test('paging and the category filter work on the copy in memory', async () => {
      const all = await list();
      const page = await list('/products/products?start=1&limit=2');
      assert.deepEqual(
        page.items.map((p) => p.id),
        all.items.slice(1, 3).map((p) => p.id),
      );
      assert.equal(page.count, all.count);
      const cds = await list('/products/products?category=cd');
      assert.ok(cds.items.length > 0);
      assert.ok(cds.items.every((p) => p.category === 'cd'));
      assert.equal(cds.count, all.items.filter((p) => p.category === 'cd').length);
    });

    test('an unknown product is 404', async () => {
      const response = await t.app.http.inject({
        method: 'GET',
        url: '/products/products/prd_nope',
        headers: { 'api-key': apiKey },
      });
      assert.equal(response.statusCode, 404);
    });
  });
}
