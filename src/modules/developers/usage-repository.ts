import type { Executor } from '../../db/index.ts';
import type { UsageCountersTable } from '../../db/tables/developers.ts';
import type { UsageGranularity, UsageRow } from './model.ts';

/** Rows per insert: 8 parameters each, well below SQLite's bound-parameter limit. */
const BATCH = 200;

/** SQL of the usage counters. */
export const usageRepository = {
  /** Adds counts to the buckets (insert or increment), so several processes add up. */
  async add(ex: Executor, rows: readonly UsageRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += BATCH) {
      const values: UsageCountersTable[] = rows.slice(i, i + BATCH).map((row) => ({
        key_id: row.keyId,
        application_id: row.applicationId,
        api: row.api,
        operation_id: row.operationId,
        status: row.status,
        granularity: row.granularity,
        bucket: row.bucket,
        count: row.count,
      }));
      await ex
        .insertInto('usage_counters')
        .values(values)
        .onConflict((oc) =>
          oc
            .columns(['key_id', 'granularity', 'bucket', 'api', 'operation_id', 'status'])
            .doUpdateSet((eb) => ({ count: eb('usage_counters.count', '+', eb.ref('excluded.count')) })),
        )
        .execute();
    }
  },

  /** Answers of one key in one day bucket, 429s aside (the durable floor of its daily quota). */
  async countDay(ex: Executor, keyId: string, dayBucket: string): Promise<number> {
    const row = await ex
      .selectFrom('usage_counters')
      .select((eb) => eb.fn.sum<number>('count').as('n'))
      .where('key_id', '=', keyId)
      .where('granularity', '=', 'day')
      .where('bucket', '=', dayBucket)
      .where('status', '<>', 429)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  /**
   * When each of these keys was last used: the latest bucket it has (minute buckets are the finest; the
   * coarser ones outlive them), as RFC 3339. Keys never used are absent.
   */
  async lastUse(ex: Executor, keyIds: readonly string[]): Promise<Map<string, string>> {
    if (keyIds.length === 0) return new Map();
    const rows = await ex
      .selectFrom('usage_counters')
      .select((eb) => ['key_id', eb.fn.max<string>('bucket').as('last')])
      .where('key_id', 'in', [...keyIds])
      .groupBy('key_id')
      .execute();
    return new Map(rows.map((row) => [row.key_id, String(row.last)]));
  },

  /** The buckets of these keys from `since` on, oldest first. */
  async list(
    ex: Executor,
    filter: { keyIds: readonly string[]; granularity: UsageGranularity; since: string },
  ): Promise<UsageRow[]> {
    if (filter.keyIds.length === 0) return [];
    const rows = await ex
      .selectFrom('usage_counters')
      .selectAll()
      .where('granularity', '=', filter.granularity)
      .where('bucket', '>=', filter.since)
      .where('key_id', 'in', [...filter.keyIds])
      .orderBy('bucket')
      .execute();
    return rows.map((row) => ({
      keyId: row.key_id,
      applicationId: row.application_id,
      api: row.api,
      operationId: row.operation_id,
      status: Number(row.status),
      granularity: row.granularity as UsageGranularity,
      bucket: row.bucket,
      count: Number(row.count),
    }));
  },
};
