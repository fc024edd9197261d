import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type MigrationResultSet, Migrator } from 'kysely/migration';
import pg from 'pg';
import { ensurePrivateDir, ensurePrivateFile } from '../lib/private-files.ts';
import type { Store } from './database.ts';
import { migrations } from './migrations/index.ts';

export interface MigrationReport {
  applied: string[];
  pending: string[];
}

/**
 * Bring the schema to the latest version. Safe when several processes start at once: they serialize on a
 * lock outside Kysely (Kysely's own lock is a no-op on SQLite, and on PostgreSQL its bookkeeping tables
 * are created before its lock is taken), so exactly one applies each migration and the others see them done.
 */
export async function migrateToLatest(
  store: Store,
  databaseUrl: string | undefined,
  options: {
    /**
     * Runs after the migrations, still under the lock: one-time set-up that must happen exactly once
     * however many processes start together (the demo seed, DESIGN.md §5.2).
     */
    thenUnderLock?: () => Promise<void>;
  } = {},
): Promise<MigrationReport> {
  return withMigrationLock(store, databaseUrl, async () => {
    const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
    const result: MigrationResultSet = await migrator.migrateToLatest();
    if (result.error) {
      const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`migration ${failed} failed: ${(result.error as Error).message}`, {
        cause: result.error,
      });
    }
    const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    await options.thenUnderLock?.();
    return { applied, pending: [] };
  });
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

async function withMigrationLock<T>(
  store: Store,
  databaseUrl: string | undefined,
  run: () => Promise<T>,
): Promise<T> {
  if (store.dialect === 'postgres' && databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      // Session-level advisory lock on a dedicated connection, held for the whole migration run.
      await client.query("select pg_advisory_lock(hashtext('strongroom.migrations'))");
      try {
        return await run();
      } finally {
        await client.query("select pg_advisory_unlock(hashtext('strongroom.migrations'))");
      }
    } finally {
      await client.end();
    }
  }
  // SQLite: an IMMEDIATE transaction on a side lock database. SQLite releases it if the process dies.
  ensurePrivateDir(path.dirname(store.location));
  ensurePrivateFile(`${store.location}.migrate-lock`);
  const lock = new DatabaseSync(`${store.location}.migrate-lock`, { timeout: 120_000 });
  try {
    lock.exec('BEGIN IMMEDIATE');
    try {
      return await run();
    } finally {
      lock.exec('COMMIT');
    }
  } finally {
    lock.close();
  }
}
