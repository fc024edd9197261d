import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import { AppError, problems } from '../../errors/index.ts';
import { type Clock, isoAt, parseIso } from '../../lib/clock.ts';
import { USAGE_GRANULARITIES, type UsageGranularity, type UsageRow } from './model.ts';
import { oneOf } from './rules.ts';
import type { DevelopersUsageRecorder } from './usage-recorder.ts';
import { usageRepository } from './usage-repository.ts';

const DAY = 86_400_000;

/** How far back a report reaches when the caller gives no `since`. */
const DEFAULT_SPAN: Record<UsageGranularity, number> = {
  minute: 60 * 60_000,
  hour: 48 * 3_600_000,
  day: 30 * DAY,
};

/** One bucket of a usage report. */
export type UsageItem = Pick<UsageRow, 'bucket' | 'api' | 'operationId' | 'status' | 'count'>;

export interface UsageReport {
  granularity: UsageGranularity;
  since: string;
  total: number;
  items: UsageItem[];
}

const toItem = (row: UsageRow): UsageItem => ({
  bucket: row.bucket,
  api: row.api,
  operationId: row.operationId,
  status: row.status,
  count: row.count,
});

/**
 * Reading metered usage: reports for the platform API and the CLI, and daily buckets for the portal's
 * charts. Both flush this process's pending counts first, so an answer includes the caller's own recent
 * requests. Access control is the caller's (a key's usage needs `apiKeys.get` first).
 */
export function createUsageReports(deps: {
  db: Kysely<Database>;
  clock: Clock;
  recorder: DevelopersUsageRecorder;
}) {
  const { db, clock, recorder } = deps;

  return {
    /**
     * When each key was last used (RFC 3339, minute precision; absent: never), this process's pending
     * counts included. A failed flush is not an error: the answer then reflects what is stored.
     */
    async lastUse(keyIds: readonly string[]): Promise<Map<string, string>> {
      await recorder.flush().catch(() => {});
      return usageRepository.lastUse(db, keyIds);
    },

    /** Usage of some keys per bucket, API, operation and status since `since` (default: a span per granularity). */
    async report(filter: { keyIds: string[]; granularity?: string; since?: string }): Promise<UsageReport> {
      const granularity = oneOf('granularity', USAGE_GRANULARITIES, filter.granularity ?? 'day', 'query');
      const sinceMs = filter.since ? parseIso(filter.since) : clock.now() - DEFAULT_SPAN[granularity];
      if (Number.isNaN(sinceMs)) throw problems.badRequest('since is not a timestamp.');
      try {
        await recorder.flush();
      } catch (error) {
        throw new AppError('serviceUnavailable', {
          detail: 'Usage is not available right now.',
          cause: error,
        });
      }
      const since = isoAt(sinceMs);
      const rows = await usageRepository.list(db, { keyIds: filter.keyIds, granularity, since });
      return {
        granularity,
        since,
        total: rows.reduce((sum, row) => sum + row.count, 0),
        items: rows.map(toItem),
      };
    },

    /**
     * Daily buckets of some keys for the last `days` UTC days, today included (the portal's charts). A
     * failed flush is not an error here: the chart then shows what is already stored.
     */
    async daily(keyIds: string[], days = 14): Promise<{ days: string[]; items: UsageItem[] }> {
      const firstDay = Math.floor(clock.now() / DAY) * DAY - (days - 1) * DAY;
      if (keyIds.length > 0) await recorder.flush().catch(() => {});
      const rows = await usageRepository.list(db, { keyIds, granularity: 'day', since: isoAt(firstDay) });
      return {
        days: Array.from({ length: days }, (_, i) => isoAt(firstDay + i * DAY)),
        items: rows.map(toItem),
      };
    },

    /**
     * Daily buckets of some keys from `fromDay` to `toDay` (UTC days, both included; the portal's date
     * range), each with its key. A failed flush is not an error: the chart shows what is stored.
     */
    async range(
      keyIds: string[],
      fromDay: number,
      toDay: number,
    ): Promise<{ days: string[]; items: (UsageItem & { keyId: string })[] }> {
      if (keyIds.length > 0) await recorder.flush().catch(() => {});
      const rows = await usageRepository.list(db, { keyIds, granularity: 'day', since: isoAt(fromDay) });
      const last = isoAt(toDay);
      return {
        days: Array.from({ length: Math.round((toDay - fromDay) / DAY) + 1 }, (_, i) =>
          isoAt(fromDay + i * DAY),
        ),
        items: rows.filter((row) => row.bucket <= last).map((row) => ({ ...toItem(row), keyId: row.keyId })),
      };
    },
  };
}

export type UsageReports = ReturnType<typeof createUsageReports>;
