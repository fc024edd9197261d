import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliActor, type Developers } from '../../src/modules/developers/index.ts';
import { abuseCounterKey } from '../../src/modules/developers/usage-recorder.ts';
import type { UsageEvent } from '../../src/modules/gateway/contract.ts';
import { createPostgresDatabase, createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';
import { readDemo } from './helpers.ts';

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

    /**
     * Abuse detection has acted on every event recorded so far: the shared counters answer in order, so
     * once a later command has answered (and the callbacks already due have run), every count before it
     * has been compared with the threshold; a suspension it triggered shows in the verifier at once, and
     * in the store when its transaction commits.
     */
    async function abuseSettled(key: { key: string; id: string }) {
      await t.app.context.shared.get('usage-test:barrier');
      await new Promise((resolve) => setImmediate(resolve));
      await waitFor(async () => {
        const verdict = await dev.keyVerifier.verify(key.key);
        const suspending = !verdict.ok && verdict.reason === 'suspended';
        return !suspending || (await dev.apiKeys.get(key.id, cliActor)).state === 'suspended';
      });
    }

    /** Until the key's stored state is suspended (bounded). */
    const storedSuspended = (keyId: string) =>
      waitFor(async () => (await dev.apiKeys.get(keyId, cliActor)).state === 'suspended').catch(() => false);

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

    it('suspends a key after more than 200 refusals within 60 s, and not at 200', async () => {
      const created = await dev.apiKeys.create(
        { clientApplicationId: readDemo(dataDir).apps.mobile?.applicationId ?? '' },
        cliActor,
      );
      await dev.apiKeys.activate(created.view.id, null, cliActor);
      const keyId = created.view.id;
      const start = t.app.context.clock.now();
      for (let i = 0; i < 200; i++) {
        dev.usage.record(
          event(keyId, [401, 403, 404][i % 3] ?? 404, start + i * 100, { reason: 'notFound' }),
        );
      }
      await abuseSettled({ key: created.key, id: keyId });
      assert.equal((await dev.apiKeys.get(keyId, cliActor)).state, 'active');
      assert.equal((await dev.keyVerifier.verify(created.key)).ok, true);
      dev.usage.record(event(keyId, 404, start + 200 * 100, { reason: 'notFound' }));
      assert.deepEqual(await dev.keyVerifier.verify(created.key), { ok: false, reason: 'suspended' });
      await storedSuspended(keyId);
      const stored = await dev.apiKeys.get(keyId, cliActor);
      assert.equal(stored.state, 'suspended');
      assert.match(stored.stateReason ?? '', /201 refused answers/);
      // The institution can reinstate it.
      await dev.apiKeys.activate(keyId, 'false positive', cliActor);
      assert.equal((await dev.keyVerifier.verify(created.key)).ok, true);
    });

    it("does not count refusals caused by the key's own state (a suspended key is not re-suspended)", async () => {
      const created = await dev.apiKeys.create(
        { clientApplicationId: readDemo(dataDir).apps.mobile?.applicationId ?? '' },
        cliActor,
      );
      const start = t.app.context.clock.now();
      for (let i = 0; i < 300; i++) {
        dev.usage.record(event(created.view.id, 403, start + i, { reason: 'keyNotActive:pending' }));
      }
      await abuseSettled({ key: created.key, id: created.view.id });
      assert.equal((await dev.apiKeys.get(created.view.id, cliActor)).state, 'pending');
      assert.ok(!t.logs.text().includes('abuse suspension failed'));
    });

    it('does not count refusals spread over more than the window', async () => {
      const created = await dev.apiKeys.create(
        { clientApplicationId: readDemo(dataDir).apps.mobile?.applicationId ?? '' },
        cliActor,
      );
      await dev.apiKeys.activate(created.view.id, null, cliActor);
      const start = t.app.context.clock.now();
      // 400 refusals, one every 400 ms: never more than 150 within any 60 s.
      for (let i = 0; i < 400; i++) dev.usage.record(event(created.view.id, 404, start + i * 400));
      await abuseSettled({ key: created.key, id: created.view.id });
      assert.equal((await dev.apiKeys.get(created.view.id, cliActor)).state, 'active');
    });

    it('suspends a key that keeps hammering far above its plan (429s past the threshold)', async () => {
      const created = await dev.apiKeys.create(
        { clientApplicationId: readDemo(dataDir).apps.mobile?.applicationId ?? '' },
        cliActor,
      );
      await dev.apiKeys.activate(created.view.id, null, cliActor);
      const start = t.app.context.clock.now();
      for (let i = 0; i < 6000; i++)
        dev.usage.record(event(created.view.id, 429, start + i, { reason: 'rateLimited' }));
      await abuseSettled({ key: created.key, id: created.view.id });
      assert.equal((await dev.apiKeys.get(created.view.id, cliActor)).state, 'active');
      dev.usage.record(event(created.view.id, 429, start + 6000, { reason: 'rateLimited' }));
      assert.deepEqual(await dev.keyVerifier.verify(created.key), { ok: false, reason: 'suspended' });
      await storedSuspended(created.view.id);
      const stored = await dev.apiKeys.get(created.view.id, cliActor);
      assert.equal(stored.state, 'suspended');
      assert.match(stored.stateReason ?? '', /6001 rate-limited answers/);
    });

    it('adds up the refusals other processes saw (shared counter) and suspends once together they pass', async () => {
      const created = await dev.apiKeys.create(
        { clientApplicationId: readDemo(dataDir).apps.mobile?.applicationId ?? '' },
        cliActor,
      );
      await dev.apiKeys.activate(created.view.id, null, cliActor);
      const at = t.app.context.clock.now();
      // Another process already counted 200 refusals of this key in this window.
      await t.app.context.shared.increment(
        abuseCounterKey('refusals', created.view.id, at, 60),
        120_000,
        200,
      );
      dev.usage.record(event(created.view.id, 404, at, { reason: 'notFound' }));
      await storedSuspended(created.view.id);
      const { state } = await dev.apiKeys.get(created.view.id, cliActor);
      assert.equal(state, 'suspended');
    });

    it('never suspends an abuse-exempt (load-test plan) key', async () => {
      const loadTest = readDemo(dataDir).apps.loadTest;
      const verified = await dev.keyVerifier.verify(loadTest?.apiKey ?? '');
      assert.equal(verified.ok && verified.key.abuseExempt, true);
      const start = t.app.context.clock.now();
      for (let i = 0; i < 500; i++) {
        dev.usage.record(event(loadTest?.apiKeyId ?? '', 404, start + i, { abuseExempt: true }));
      }
      await abuseSettled({ key: loadTest?.apiKey ?? '', id: loadTest?.apiKeyId ?? '' });
      assert.equal((await dev.apiKeys.get(loadTest?.apiKeyId ?? '', cliActor)).state, 'active');
    });
  });
}
