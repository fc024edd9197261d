import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { migrateToLatest, openStore, pendingMigrations, type Store } from '../../src/db/index.ts';
import { migrations } from '../../src/db/migrations/index.ts';
import { createManualClock } from '../../src/lib/clock.ts';
import { createAuditLog } from '../../src/modules/audit/index.ts';
import { type Change, createChangeFeed, createSettings } from '../../src/store/index.ts';
import { createPostgresDatabase, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function freshStore(dialect: string) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-store-'));
  const database = dialect === 'postgres' ? await createPostgresDatabase() : undefined;
  const open = () => openStore({ databaseUrl: database?.url, dataDir });
  return {
    dataDir,
    databaseUrl: database?.url,
    open,
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/strongroom.js'), ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

for (const dialect of testDialects()) {
  describe(`store on ${dialect}`, () => {
    let fixture: Awaited<ReturnType<typeof freshStore>>;
    let store: Store;

    before(async () => {
      fixture = await freshStore(dialect);
      store = fixture.open();
      await migrateToLatest(store, fixture.databaseUrl);
    });
    after(async () => {
      await store.close();
      await fixture.cleanup();
    });

    test('migrations apply every version and a second run applies nothing', async () => {
      assert.deepEqual(await pendingMigrations(store), []);
      const again = await migrateToLatest(store, fixture.databaseUrl);
      assert.deepEqual(again.applied, []);
    });

    test('the store answers a ping', async () => {
      assert.equal(await store.ping(), true);
    });

    test('a change published by another connection reaches a subscriber within a second', async () => {
      const clock = createManualClock();
      const feed = createChangeFeed({ db: store.db, clock, intervalMs: 100 });
      feed.start();
      const other = fixture.open(); // as a CLI command or another instance would
      try {
        const received = new Promise<Change>((resolve) => feed.subscribe('apiKey', resolve));
        const started = performance.now();
        const publisher = createChangeFeed({ db: other.db, clock });
        await publisher.publish('apiKey', 'key_123');
        const change = await received;
        assert.equal(change.key, 'key_123');
        assert.ok(performance.now() - started < 1000, 'delivered within 1 s');
      } finally {
        await feed.stop();
        await other.close();
      }
    });

    test('moving the domain clock does not hide changes (the window is database time)', async () => {
      const clock = createManualClock(Date.parse('2001-01-01T00:00:00Z'));
      const feed = createChangeFeed({ db: store.db, clock, intervalMs: 50 });
      feed.start();
      const keys: string[] = [];
      feed.subscribe('clockTest', (change) => keys.push(change.key));
      try {
        clock.advance(400 * 86_400_000);
        const publisher = createChangeFeed({ db: store.db, clock: createManualClock(0) });
        await publisher.publish('clockTest', 'far-from-now');
        await waitFor(() => keys.length > 0, { what: 'the change' });
        assert.deepEqual(keys, ['far-from-now']);
      } finally {
        await feed.stop();
      }
    });

    test('a change rolled back with its transaction is never delivered', async () => {
      const feed = createChangeFeed({ db: store.db, clock: createManualClock(), intervalMs: 50 });
      feed.start();
      const seen: string[] = [];
      feed.subscribe('role', (c) => seen.push(c.key));
      try {
        await store.db
          .transaction()
          .execute(async (trx) => {
            await feed.publish('role', 'rolled-back', trx);
            throw new Error('abort');
          })
          .catch(() => {});
        await feed.publish('role', 'committed');
        // The poll that delivers the committed change would have delivered the other one too.
        await waitFor(() => seen.includes('committed'), { what: 'the committed change' });
        assert.deepEqual(seen, ['committed']);
      } finally {
        await feed.stop();
      }
    });

    test('settings changed elsewhere are seen after the change is delivered', async () => {
      const clock = createManualClock();
      const feed = createChangeFeed({ db: store.db, clock, intervalMs: 50 });
      feed.start();
      const settings = createSettings({ db: store.db, clock, changes: feed });
      const other = fixture.open();
      try {
        assert.equal(await settings.get('lifetimes.accessToken', 300), 300);
        const otherFeed = createChangeFeed({ db: other.db, clock });
        const otherSettings = createSettings({ db: other.db, clock, changes: otherFeed });
        const delivered = new Promise((resolve) => feed.subscribe('setting', resolve));
        await otherSettings.set('lifetimes.accessToken', 120);
        await delivered;
        assert.equal(await settings.get('lifetimes.accessToken', 300), 120);
      } finally {
        await feed.stop();
        await other.close();
      }
    });

    test('the audit log records an event with its snapshots', async () => {
      const clock = createManualClock(Date.parse('2026-05-01T10:00:00.000Z'));
      const audit = createAuditLog({ db: store.db, clock });
      await audit.record({
        actor: { type: 'cli' },
        action: 'apiKey.revoked',
        target: { type: 'apiKey', id: 'key_1' },
        reason: 'leaked on a public repository',
        before: { state: 'active' },
        after: { state: 'revoked' },
      });
      const [entry] = await audit.list({ targetType: 'apiKey', targetId: 'key_1' });
      assert.equal(entry?.action, 'apiKey.revoked');
      assert.equal(entry?.occurredAt, '2026-05-01T10:00:00.000Z');
      assert.deepEqual(entry?.before, { state: 'active' });
      assert.deepEqual(entry?.after, { state: 'revoked' });
      assert.equal(entry?.reason, 'leaked on a public repository');
    });
  });

  describe(`concurrent migration on ${dialect}`, () => {
    test('two processes migrating one empty database at once end with one correct schema', async () => {
      const fixture = await freshStore(dialect);
      try {
        const env: Record<string, string> = { STRONGROOM_DATA_DIR: fixture.dataDir };
        if (fixture.databaseUrl) env.DATABASE_URL = fixture.databaseUrl;
        const [first, second] = await Promise.all([
          runCli(['migrate', '--json'], env),
          runCli(['migrate', '--json'], env),
        ]);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(second.code, 0, second.stderr);
        const applied = [...JSON.parse(first.stdout).applied, ...JSON.parse(second.stdout).applied].sort();
        assert.deepEqual(applied, Object.keys(migrations).sort(), 'each migration applied exactly once');
        const store = fixture.open();
        try {
          assert.deepEqual(await pendingMigrations(store), []);
        } finally {
          await store.close();
        }
      } finally {
        await fixture.cleanup();
      }
    });
  });
}
