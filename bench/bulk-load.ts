import { DatabaseSync } from 'node:sqlite';

/**
 * Case c's store, generated fast: `keys` more active API keys on one application and `entitlements` more
 * account entitlements (10 per bench user), with one prepared statement on a side connection to the
 * bench's SQLite file, in one transaction per table (1.1 million rows in seconds, where batched Kysely
 * inserts took minutes). The rows are synthetic and unique; none of them is used by the measured requests.
 */
export function bulkLoad(options: {
  /** The bench store's SQLite file (the bench always runs on SQLite). */
  sqliteFile: string;
  applicationId: string;
  keys: number;
  entitlements: number;
  now: string;
}): void {
  const { now } = options;
  const keyRow = (i: number) => ({
    id: `key_bench${i}`,
    application_id: options.applicationId,
    label: `bench ${i}`,
    prefix: `srk_live_bench${i}_`,
    last4: String(i % 10_000).padStart(4, '0'),
    secret_hash: i.toString(16).padStart(64, '0'),
    state: 'active',
    state_reason: null,
    expires_at: null,
    rotated_from: null,
    created_by: null,
    created_at: now,
    updated_at: now,
  });
  const entitlementRow = (i: number) => ({
    id: `ent_bench${i}`,
    subject: `usr_bench${Math.floor(i / 10)}`,
    resource: 'account',
    resource_id: `acc_bench${i}`,
    permissions_json: '["view","viewBalance"]',
    relationship: 'owner',
    created_at: now,
    updated_at: now,
  });

  const side = new DatabaseSync(options.sqliteFile);
  side.exec('PRAGMA busy_timeout = 10000');
  const fill = (table: string, count: number, row: (i: number) => Record<string, string | null>) => {
    if (count <= 0) return;
    const columns = Object.keys(row(0));
    const insert = side.prepare(
      `insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
    );
    side.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < count; i++) insert.run(...Object.values(row(i)));
    side.exec('COMMIT');
  };
  fill('api_keys', options.keys, keyRow);
  fill('entitlements', options.entitlements, entitlementRow);
  // Fold the load into the database file now, so case c does not pay for SQLite's first checkpoint.
  side.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  side.close();
}
