import { type MigrationDb, required } from '../migration-helpers.ts';

/**
 * DESIGN.md §5.2: every running process heartbeats in `instances`, so that during a Redis outage each
 * one can take ⌈quota ÷ live instances⌉ of a rate plan. (Daily quotas are enforced against the metered
 * day buckets of `usage_counters`, whose primary key already starts with key, granularity and bucket.)
 */
export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'text', required)
    .addColumn('heartbeat_at', 'text', required)
    .execute();
  await db.schema.createIndex('instances_heartbeat_at').on('instances').column('heartbeat_at').execute();
}
