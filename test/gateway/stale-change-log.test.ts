/**
 * DESIGN.md §5.2: a process that cannot read the change log stops answering from its caches. Two apps
 * share one store; B's change-log reads stop (as when it is paused or cut off); a key revoked meanwhile
 * through A is never answered 200 by B — 503 + `Retry-After: 1` while stale, 401 once B reads again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

const actor = { type: 'system' as const, id: null, institution: true };

for (const dialect of testDialects()) {
  describe(`a stale change log on ${dialect}`, () => {
    let a: TestApp;
    let b: TestApp;

    before(async () => {
      a = await createTestApp({ dialect, args: ['--demo'] });
      b = await createTestApp({
        dialect,
        dataDir: a.dataDir,
        databaseUrl: a.config.databaseUrl,
        args: ['--demo', '--public-url', a.config.publicUrl],
      });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    const products = (key: string) =>
      b.app.http.inject({ method: 'GET', url: '/products/products', headers: { 'api-key': key } });

    const newKey = async () => {
      const developers = a.app.services.developers;
      const demo = await readDemoFile(a.dataDir);
      const created = await developers.apiKeys.create(
        { clientApplicationId: demo?.apps.loadTest?.applicationId as string },
        actor,
      );
      await developers.apiKeys.activate(created.view.id, 'stale test', actor);
      await waitFor(async () => (await products(created.key)).statusCode === 200, {
        what: 'B to accept the new key',
      });
      return created;
    };

    const stopReads = async () => {
      await b.app.context.changes.stop();
      const stale = await waitFor(
        async () => {
          const answer = await products('sr_none');
          return answer.statusCode === 503 && answer;
        },
        { what: 'B to notice its change log is stale', timeoutMs: 3000 },
      );
      return stale;
    };

    test('a key revoked while B cannot read the change log is never answered 200 by B', async () => {
      const created = await newKey();
      const stale = await stopReads();
      try {
        assert.equal(stale.headers['retry-after'], '1');
        assert.match(String(stale.headers['content-type']), /^application\/problem\+json/);
        assert.match(stale.json().type, /\/errors\/serviceUnavailable$/);

        await a.app.services.developers.apiKeys.revoke(created.view.id, 'stale test', actor);
        for (let i = 0; i < 5; i++) {
          const answer = await products(created.key);
          assert.equal(answer.statusCode, 503, 'no cached verdict while stale');
        }
      } finally {
        b.app.context.changes.start();
      }
      await waitFor(async () => (await products(created.key)).statusCode !== 503, {
        what: 'B to read again',
      });
      assert.equal((await products(created.key)).statusCode, 401);
    });

    test('after a gap every cache is dropped: a change that never reached the log is seen', async () => {
      const created = await newKey();
      await stopReads();
      // Revoked behind the change log's back (as if its record had been pruned during a long gap).
      await sql`update api_keys set state = 'revoked' where id = ${created.view.id}`.execute(
        a.app.context.db,
      );
      b.app.context.changes.start();
      await waitFor(async () => (await products(created.key)).statusCode !== 503, {
        what: 'B to read again',
      });
      assert.equal((await products(created.key)).statusCode, 401);
      assert.ok(
        b.app.context.signals.snapshot().unavailable.changeLogStale > 0,
        '503s are reported by cause',
      );
    });
  });
}
