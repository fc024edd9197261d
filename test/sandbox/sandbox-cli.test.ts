import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';

async function run(t: TestApp, args: string[]) {
  const stdout = new PassThrough();
  const out: string[] = [];
  stdout.on('data', (c) => out.push(String(c)));
  const flags = [
    '--data-dir',
    t.dataDir,
    ...(t.config.databaseUrl ? ['--database-url', t.config.databaseUrl] : []),
  ];
  const code = await main([...args, ...flags], {
    stdout,
    stderr: new PassThrough(),
    stdin: Readable.from([]),
    env: {},
    cwd: process.cwd(),
  });
  return { code, stdout: out.join('') };
}

for (const dialect of testDialects()) {
  describe(`${dialect}: enabling the sandbox in an institution without the demo`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(() => t.close());

    it('`sandbox enable` creates the sandbox customers with sandbox accounts and history, once', async () => {
      const first = await run(t, ['sandbox', 'enable', '--json']);
      assert.equal(first.code, 0);
      const result = JSON.parse(first.stdout) as { created: boolean; customers: { username: string }[] };
      assert.equal(result.created, true);
      assert.ok(result.customers.length >= 2);
      const again = JSON.parse((await run(t, ['sandbox', 'enable', '--json'])).stdout) as {
        created: boolean;
      };
      assert.equal(again.created, false);

      const customers = await t.app.services.sandbox.customers();
      assert.deepEqual(
        customers.map((c) => c.username),
        result.customers.map((c) => c.username),
      );
      for (const customer of customers) {
        const user = await t.app.services.identity.getUser(customer.id);
        assert.equal(user?.environment, 'sandbox');
        const grants = await t.app.services.entitlements.list({ subject: customer.id });
        assert.ok(grants.length >= 1);
        for (const grant of grants) {
          const account = await t.app.services.banking.services.accounts.find(
            t.app.context.db,
            grant.resourceId,
          );
          assert.equal(account?.environment, 'sandbox');
          assert.ok(Number(account?.current_minor) > 0);
        }
      }
      const shown = await run(t, ['users', 'show', customers[0]?.username ?? '', '--json']);
      assert.equal((JSON.parse(shown.stdout) as { environment: string }).environment, 'sandbox');
      const table = (await run(t, ['users', 'list'])).stdout;
      assert.match(table, /environment/);
      const listed = await run(t, ['sandbox', 'customers']);
      assert.equal(listed.code, 0);
      for (const customer of customers) assert.ok(listed.stdout.includes(customer.password));
    });
  });
}

for (const dialect of testDialects()) {
  describe(`${dialect}: a demo data dir whose demo.json has no sandbox yet`, () => {
    it('gets `sandboxUsers` written on the next start, matching the store (same ids, passwords, accounts)', async () => {
      const first = await createTestApp({ dialect, args: ['--demo'] });
      const dataDir = first.dataDir;
      const databaseUrl = first.config.databaseUrl;
      const file = path.join(dataDir, 'demo.json');
      const seeded = JSON.parse(readFileSync(file, 'utf8')) as DemoDocument;
      await first.app.close();
      try {
        const { sandboxUsers: _removed, ...older } = seeded;
        writeFileSync(file, JSON.stringify(older), { mode: 0o600 });
        const second = await createTestApp({ dialect, args: ['--demo'], dataDir, databaseUrl });
        await second.app.close();
        const refreshed = JSON.parse(readFileSync(file, 'utf8')) as DemoDocument;
        assert.ok((seeded.sandboxUsers ?? []).length >= 2);
        assert.deepEqual(refreshed.sandboxUsers, seeded.sandboxUsers);
      } finally {
        await first.close();
      }
    });
  });
}
