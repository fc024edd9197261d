import path from 'node:path';
import { type Dialect, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { ensurePrivateDir, ensurePrivateFile } from '../lib/private-files.ts';
import type { Database } from './schema.ts';
import { openSqlite } from './sqlite-driver.ts';

// int8 (COUNT(*), bigint columns) as JS numbers: every bigint we store (amounts in minor units,
// counters) stays far below 2^53.
pg.types.setTypeParser(20, (value) => Number(value));
// numeric as string keeps decimals exact.

export type DialectName = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Where the data lives, for messages (no credentials). */
  readonly location: string;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `postgres://…`; undefined for SQLite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

/** Open the store selected by URL: PostgreSQL for `postgres://`, else SQLite at `<dataDir>/strongroom.db`. */
export function openStore(options: OpenStoreOptions): Store {
  let dialect: Dialect;
  let dialectName: DialectName;
  let location: string;
  if (options.databaseUrl) {
    dialectName = 'postgres';
    const url = new URL(options.databaseUrl);
    location = `postgres://${url.host}${url.pathname}`;
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // A pool error (server restart) must not crash the process; queries will report it.
    pool.on('error', () => {});
    dialect = new PostgresDialect({ pool });
  } else {
    dialectName = 'sqlite';
    ensurePrivateDir(options.dataDir);
    location = path.join(options.dataDir, 'strongroom.db');
    const file = location;
    dialect = new SqliteDialect({
      database: async () => {
        ensurePrivateFile(file, [`${file}-wal`, `${file}-shm`]);
        return openSqlite(file).database;
      },
    });
  }
  const db = new Kysely<Database>({ dialect });
  return {
    db,
    dialect: dialectName,
    location,
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}
