import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Adapts `node:sqlite` to the better-sqlite3 shape that Kysely's SqliteDialect expects.
 * node:sqlite refuses booleans and Dates as parameters and returns null-prototype rows; both are
 * normalised here so the rest of the code sees the same values as with PostgreSQL.
 */
const MAX_CACHED_STATEMENTS = 500;

export function openSqlite(file: string): { database: SqliteDatabase; raw: DatabaseSync } {
  const raw = new DatabaseSync(file, { timeout: 10_000 });
  raw.exec('PRAGMA journal_mode = WAL');
  raw.exec('PRAGMA synchronous = NORMAL');
  raw.exec('PRAGMA foreign_keys = ON');
  raw.exec('PRAGMA busy_timeout = 10000');
  // Kysely prepares every query anew; SQLite's prepare costs more than a point lookup, so statements are
  // kept by SQL text (SQLite re-prepares them itself after a schema change).
  const statements = new Map<string, { statement: StatementSync; reader: boolean }>();
  const database: SqliteDatabase = {
    close: () => {
      statements.clear();
      raw.close();
    },
    prepare(sql: string): SqliteStatement {
      let entry = statements.get(sql);
      if (!entry) {
        const prepared = raw.prepare(sql);
        entry = { statement: prepared, reader: prepared.columns().length > 0 };
        if (statements.size >= MAX_CACHED_STATEMENTS) {
          const oldest = statements.keys().next().value;
          if (oldest !== undefined) statements.delete(oldest);
        }
        statements.set(sql, entry);
      }
      const { statement, reader } = entry;
      return {
        reader,
        all: (parameters) => statement.all(...toSqliteParams(parameters)).map(plainRow),
        run: (parameters) => {
          const result = statement.run(...toSqliteParams(parameters));
          return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
        },
        *iterate(parameters) {
          for (const row of statement.iterate(...toSqliteParams(parameters))) yield plainRow(row);
        },
      };
    },
  };
  return { database, raw };
}

type SqliteParam = null | number | bigint | string | Uint8Array;

function toSqliteParams(parameters: ReadonlyArray<unknown>): SqliteParam[] {
  return parameters.map((value) => {
    if (value === undefined || value === null) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'object' && !(value instanceof Uint8Array)) return JSON.stringify(value);
    return value as SqliteParam;
  });
}

function plainRow(row: unknown): unknown {
  return row && typeof row === 'object' ? { ...(row as object) } : row;
}
