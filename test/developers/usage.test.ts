import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Developers } from '../../src/modules/developers/index.ts';
import type { UsageEvent } from '../../src/modules/gateway/contract.ts';
import { createPostgresDatabase, createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';

const MINUTE = 60_000;

for (const dialect of testDialects()) {
  describe(`${dialect}: metering and abuse detection`, () => {
    let dataDir: string;
    let database: { url: string; drop: () => Promise<void> } | undefined;
    let t: TestApp;
    let dev: Developers;

    // PostgreSQL runs share state through Redis when TEST_REDIS_URL is set (the scale-out setup).
    const open = () =>
      createTestApp({
        dialect,
        args: ['--demo'],
        dataDir,
        databaseUrl: database?.url,
        redis: dialect === 'postgres',
      });

    before(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-usage-'));
      if (dialect === 'postgres') database = await createPostgresDatabase({ migrated: true });
      t = await open();
      dev = t.app.services.developers;
    });
    after(async () => {
      await t.app.close();
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    });

    const event = (
      keyId: string,
      status: number,
      at: number,
      extra: Partial<UsageEvent> = {},
    ): UsageEvent => ({
      keyId,
      applicationId: 'app_usage',
      api: 'accounts',
      operationId: 'getAccounts',
      status,
      at,
      abuseExempt: false,
      ...extra,
    });

    const totals = async (keyId: string, granularity: 'minute' | 'hour' | 'day') => {
      const rows = (
        await dev.usageReports.report({ keyIds: [keyId], granularity, since: '2000-01-01T00:00:00.000Z' })
      ).items;
      const byStatus: Record<number, number> = {};
      for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + row.count;
      return { rows, byStatus };
    };

    it('counts answers per key, operation and status in minute, hour and day buckets', async () => {
      const at = Date.parse('2026-11-29T10:15:30Z');
      for (let i = 0; i < 25; i++)
        dev.usage.record(event('key_metered00000000001', 200, at + (i % 3) * MINUTE));
      for (let i = 0; i < 4; i++) dev.usage.record(event('key_metered00000000001', 429, at));
      dev.usage.record(event('key_metered00000000001', 200, at, { operationId: 'getAccount' }));
      const minutes = await totals('key_metered00000000001', 'minute');
      assert.deepEqual(minutes.byStatus, { 200: 26, 429: 4 });
      assert.equal(minutes.rows.filter((r) => r.status === 200 && r.operationId === 'getAccounts').length, 3);
      const hours = await totals('key_metered00000000001', 'hour');
      assert.deepEqual(hours.byStatus, { 200: 26, 429: 4 });
      assert.deepEqual(
        hours.rows.map((r) => r.bucket),
        hours.rows.map(() => '2026-11-29T10:00:00.000Z'),
      );
      const days = await totals('key_metered00000000001', 'day');
      assert.deepEqual(days.byStatus, { 200: 26, 429: 4 });
    });

    it('adds to existing buckets across flushes instead of overwriting them', async () => {
      const at = Date.parse('2026-11-29T11:00:00Z');
      dev.usage.record(event('key_twoFlushes000000001', 200, at));
      await dev.usage.flush();
      dev.usage.record(event('key_twoFlushes000000001', 200, at));
      dev.usage.record(event('key_twoFlushes000000001', 200, at));
      assert.deepEqual((await totals('key_twoFlushes000000001', 'day')).byStatus, { 200: 3 });
    });

    it('loses nothing across a graceful restart (counts still in memory are flushed on stop)', async () => {
      const at = Date.parse('2026-11-29T12:00:00Z');
      for (let i = 0; i < 1234; i++)
        dev.usage.record(event('key_restart00000000001', i % 10 === 0 ? 404 : 200, at + i));
      assert.ok(dev.usage.pendingCount() >= 1234);
      await t.app.close();
      t = await open();
      dev = t.app.services.developers;
      assert.deepEqual((await totals('key_restart00000000001', 'day')).byStatus, { 200: 1110, 404: 124 });
      assert.deepEqual((await totals('key_restart00000000001', 'minute')).byStatus, { 200: 1110, 404: 124 });
    });
  });
}
