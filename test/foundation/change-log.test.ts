/**
 * DESIGN.md §5.2, "the change log can never be missed": the feed follows the log by cursor (a paused or
 * cut-off process still gets every change of its gap, and on PostgreSQL a change that commits after a
 * later one is still delivered), knows when its last read is too old, and drops every cache after a gap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrateToLatest, openStore, type Store } from '../../src/db/index.ts';
import { createManualClock } from '../../src/lib/clock.ts';
import { createChangeFeed } from '../../src/store/index.ts';
import { createPostgresDatabase, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

for (const dialect of testDialects()) {
  describe(`change feed on ${dialect}`, () => {
    let store: Store;
    let dataDir: string;
    let database: { url: string; drop: () => Promise<void> } | undefined;

    before(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-feed-'));
      database = dialect === 'postgres' ? await createPostgresDatabase({ migrated: true }) : undefined;
      store = openStore({ databaseUrl: database?.url, dataDir });
      await migrateToLatest(store, database?.url);
    });
    after(async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    });

    test('a change stamped long before it is read is still delivered (cursor, not time window)', async () => {
      const feed = createChangeFeed({ db: store.db, clock: createManualClock(), intervalMs: 20 });
      const keys: string[] = [];
      feed.subscribe('gapTest', (change) => keys.push(change.key));
      feed.start();
      try {
        await feed.pollNow();
        // What a process paused for a minute finds: rows stamped well outside any read window.
        await store.db
          .insertInto('change_log')
          .values({ topic: 'gapTest', key: 'old', created_at: '2020-01-01T00:00:00.000Z' })
          .execute();
        await waitFor(() => keys.includes('old'), { what: 'the old change', timeoutMs: 2000 });
        assert.deepEqual(keys, ['old']);
      } finally {
        await feed.stop();
      }
    });

    test('the feed is stale once its last read is more than 750 ms old, and fresh again after a read', async () => {
      const clock = createManualClock();
      const feed = createChangeFeed({ db: store.db, clock, intervalMs: 60_000 });
      let resyncs = 0;
      feed.onResync(() => {
        resyncs++;
      });
      assert.equal(feed.isFresh(), false, 'not fresh before its first read');
      feed.start();
      try {
        await feed.pollNow();
        assert.equal(feed.isFresh(), true);
        const afterStart = resyncs;
        clock.advanceMonotonic(751);
        assert.equal(feed.isFresh(), false);
        assert.equal(feed.status().fresh, false);
        assert.ok(feed.status().lagMs > 750);
        assert.equal(await feed.ensureFresh(), true, 'one read made on demand');
        assert.equal(resyncs, afterStart + 1, 'the gap dropped the caches before the feed was fresh');
        assert.equal(feed.isFresh(), true);
      } finally {
        await feed.stop();
      }
    });

    test('a failing resync (denylist not reloaded) keeps the feed stale', async () => {
      const clock = createManualClock();
      const feed = createChangeFeed({ db: store.db, clock, intervalMs: 60_000 });
      let fail = true;
      feed.onResync(async () => {
        if (fail) throw new Error('store down');
      });
      feed.start();
      try {
        await feed.pollNow();
        assert.equal(feed.isFresh(), false);
        fail = false;
        assert.equal(await feed.ensureFresh(), true);
      } finally {
        await feed.stop();
      }
    });

    if (dialect === 'postgres') {
      test('a change that commits after a later one was read is still delivered', async () => {
        const feed = createChangeFeed({ db: store.db, clock: createManualClock(), intervalMs: 20 });
        const keys: string[] = [];
        feed.subscribe('orderTest', (change) => keys.push(change.key));
        feed.start();
        const slow = new pg.Client({ connectionString: database?.url });
        await slow.connect();
        try {
          await feed.pollNow();
          await slow.query('begin');
          // Takes its id now, commits later.
          await slow.query(
            "insert into change_log (topic, key, created_at) values ('orderTest', 'first', '2020-01-01T00:00:00.000Z')",
          );
          await feed.publish('orderTest', 'second');
          await waitFor(() => keys.includes('second'), { what: 'the later change' });
          await feed.pollNow();
          await slow.query('commit');
          await waitFor(() => keys.includes('first'), { what: 'the change committed last' });
          assert.deepEqual(keys, ['second', 'first']);
        } finally {
          await slow.end();
          await feed.stop();
        }
      });
    }
  });
}
