import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp, testDialects } from '../../../test/helpers/test-app.ts';
import { AppError } from '../../errors/index.ts';
import { createManualClock, isoAt } from '../../lib/clock.ts';
import { type Actor, cliActor, type Developers } from './index.ts';

const START = Date.parse('2026-11-29T08:00:00Z');
const developer: Actor = { type: 'user', id: 'usr_servicesDev00000001', institution: false };

const rejectsWith = (status: number, field?: string) => (error: unknown) => {
  assert.ok(error instanceof AppError, String(error));
  assert.equal(error.status, status, error.detail);
  if (field)
    assert.ok(
      error.errors?.some((e) => e.name === field),
      JSON.stringify(error.errors),
    );
  return true;
};

for (const dialect of testDialects()) {
  describe(`${dialect}: developers services for the portal and the CLI`, () => {
    const clock = createManualClock(START);
    let t: TestApp;
    let dev: Developers;

    before(async () => {
      t = await createTestApp({ dialect, clock });
      dev = t.app.services.developers;
    });
    after(() => t.close());

    describe('plans', () => {
      it('creates a plan, then changes its limits under the same id, audited each time', async () => {
        const created = await dev.plans.set(
          { name: 'gold', perSecond: 500, burst: 1000, perDay: 10_000_000, abuseExempt: false },
          cliActor,
        );
        clock.advance(1_000);
        const changed = await dev.plans.set({ ...created, perSecond: 50 }, cliActor);
        assert.equal(changed.id, created.id);
        assert.equal((await dev.plans.findByName('gold'))?.perSecond, 50);
        assert.deepEqual(
          (await t.app.context.audit.list({ targetType: 'ratePlan', targetId: created.id })).map(
            (e) => e.action,
          ),
          ['ratePlan.updated', 'ratePlan.created'],
        );
      });

      it('refuses a change by anyone but the institution (403)', async () => {
        await assert.rejects(
          dev.plans.set({ name: 'cheap', perSecond: 1, burst: 1, perDay: 1, abuseExempt: true }, developer),
          rejectsWith(403),
        );
        assert.equal(await dev.plans.findByName('cheap'), undefined);
      });

      it('refuses non-positive limits and bad names (400 naming each field)', async () => {
        await assert.rejects(
          dev.plans.set({ name: 'x y', perSecond: 0, burst: 1, perDay: -1, abuseExempt: false }, cliActor),
          (error) =>
            rejectsWith(400, 'name')(error) &&
            rejectsWith(400, 'perSecond')(error) &&
            rejectsWith(400, 'perDay')(error),
        );
      });
    });

    describe('abuse settings', () => {
      it('changes one threshold, keeps the others and audits the change', async () => {
        const before = await dev.abuseSettings.get();
        const after = await dev.abuseSettings.set({ grantRefusalsPerMinute: 7 }, cliActor);
        assert.deepEqual(after, { ...before, grantRefusalsPerMinute: 7 });
        assert.deepEqual(await dev.abuseSettings.get(), after);
        const [entry] = await t.app.context.audit.list({ targetType: 'setting', action: 'setting.changed' });
        assert.deepEqual(entry?.after, after);
        assert.deepEqual(entry?.before, before);
      });

      it('refuses a non-positive threshold (400) and a developer (403)', async () => {
        const before = await dev.abuseSettings.get();
        await assert.rejects(
          dev.abuseSettings.set({ revokedGrantsWindowMinutes: 0 }, cliActor),
          rejectsWith(400, 'revokedGrantsWindowMinutes'),
        );
        await assert.rejects(dev.abuseSettings.set({ keyRefusalsPerMinute: 9 }, developer), rejectsWith(403));
        assert.deepEqual(await dev.abuseSettings.get(), before);
      });
    });

    describe('portal sessions', () => {
      const session = (idHash: string, ttlMs: number) => ({
        idHash,
        userId: 'usr_portal',
        username: 'portal-user',
        scopes: ['admin/read'],
        csrfToken: 'csrf',
        createdAt: isoAt(clock.now()),
        expiresAt: isoAt(clock.now() + ttlMs),
      });

      it('finds a live session by the hash of its id, and no longer once it expires', async () => {
        await dev.portalSessions.insert(session('hash-live', 60_000));
        assert.equal((await dev.portalSessions.find('hash-live'))?.username, 'portal-user');
        clock.advance(60_000);
        assert.equal(await dev.portalSessions.find('hash-live'), undefined);
      });

      it('forgets a deleted session', async () => {
        await dev.portalSessions.insert(session('hash-deleted', 60_000));
        await dev.portalSessions.delete('hash-deleted');
        assert.equal(await dev.portalSessions.find('hash-deleted'), undefined);
      });

      it('drops expired sessions when a new one is stored', async () => {
        await dev.portalSessions.insert(session('hash-old', 1_000));
        clock.advance(2_000);
        await dev.portalSessions.insert(session('hash-new', 60_000));
        clock.set(clock.now() - 2_000);
        // Back before the old session's expiry: it would be live again, had it not been removed.
        assert.equal(await dev.portalSessions.find('hash-old'), undefined);
        assert.ok(await dev.portalSessions.find('hash-new'));
        clock.advance(2_000);
      });
    });

    describe('usage reports', () => {
      const event = (keyId: string, status: number, at: number) => ({
        keyId,
        applicationId: 'app_reports',
        api: 'accounts',
        operationId: 'getAccounts',
        status,
        at,
        abuseExempt: true,
      });

      it('reports the pending counts of this process too (it flushes first)', async () => {
        dev.usage.record(event('key_reports00000000001', 200, clock.now()));
        dev.usage.record(event('key_reports00000000001', 200, clock.now()));
        const report = await dev.usageReports.report({
          keyIds: ['key_reports00000000001'],
          granularity: 'hour',
        });
        assert.equal(report.total, 2);
        assert.equal(report.granularity, 'hour');
      });

      it('refuses an unknown granularity or a since that is not a timestamp (400)', async () => {
        await assert.rejects(
          dev.usageReports.report({ keyIds: ['key_reports00000000001'], granularity: 'week' }),
          rejectsWith(400, 'granularity'),
        );
        await assert.rejects(
          dev.usageReports.report({ keyIds: ['key_reports00000000001'], since: 'yesterday' }),
          rejectsWith(400),
        );
      });

      it('gives the portal 14 UTC days ending today, with each day’s counts', async () => {
        const today = Math.floor(clock.now() / 86_400_000) * 86_400_000;
        dev.usage.record(event('key_daily000000000001', 200, today - 3 * 86_400_000));
        dev.usage.record(event('key_daily000000000001', 429, clock.now()));
        const { days, items } = await dev.usageReports.daily(['key_daily000000000001']);
        assert.equal(days.length, 14);
        assert.equal(days.at(-1), isoAt(today));
        assert.deepEqual(
          items.map((i) => [i.bucket, i.status, i.count]),
          [
            [isoAt(today - 3 * 86_400_000), 200, 1],
            [isoAt(today), 429, 1],
          ],
        );
      });
    });
  });
}
