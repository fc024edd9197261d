import path from 'node:path';
import { type Dialect, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { DeadlineExceeded } from '../lib/deadline.ts';
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
  /** PostgreSQL: give up connecting after this long (DESIGN.md §5.2; default 2000 ms). */
  connectTimeoutMs?: number;
  /** PostgreSQL: server-side `statement_timeout` and client-side query deadline (default 5000 ms). */
  statementTimeoutMs?: number;
}

/**
 * A client-side deadline on every query of a pooled client, and no crash when its link dies while it is
 * checked out. pg's own `query_timeout` answers the caller but leaves the query on the wire, so the next
 * query on that connection reads the late answer (protocol desync): here the connection is destroyed
 * instead, and the pool drops it when it is released.
 */
function guardQueries(client: pg.PoolClient, deadlineMs: number): void {
  client.on('error', () => {});
  type Query = (...args: unknown[]) => unknown;
  const target = client as unknown as { query: Query; connection?: { stream?: { destroy(): void } } };
  const query = target.query.bind(client) as Query;
  target.query = (...args: unknown[]) => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result; // cursors and callbacks: not used by the store
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        target.connection?.stream?.destroy();
        reject(new DeadlineExceeded('PostgreSQL', deadlineMs));
      }, deadlineMs);
    });
    result.catch(() => {});
    return Promise.race([result, deadline]).finally(() => clearTimeout(timer));
  };
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
    const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
    // Every call has a deadline (DESIGN.md §5.2), so a stalled server never hangs a request, a probe or
    // shutdown: connecting, each statement on the server, and the answer on the client side (a stalled
    // link never delivers the server's own timeout error). Idle transactions are ended by the server so
    // a stalled client cannot hold locks.
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: Math.max(10_000, statementTimeoutMs * 2),
      keepAlive: true,
    });
    // A pool error (server restart) must not crash the process; queries will report it.
    pool.on('error', () => {});
    pool.on('connect', (client) => guardQueries(client, statementTimeoutMs + 500));
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
