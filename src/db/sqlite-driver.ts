import { DatabaseSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Adapts `node:sqlite` to the better-sqlite3 shape that Kysely's SqliteDialect expects.
 * node:sqlite refuses booleans and Dates as parameters and returns null-prototype rows; both are
 * normalised here so the rest of the code sees the same values as with PostgreSQL.
 */
export function openSqlite(file: string): { database: SqliteDatabase; raw: DatabaseSync } {
  const raw = new DatabaseSync(file, { timeout: 10_000 });
  raw.exec('PRAGMA journal_mode = WAL');
  raw.exec('PRAGMA synchronous = NORMAL');
  raw.exec('PRAGMA foreign_keys = ON');
  raw.exec('PRAGMA busy_timeout = 10000');
  const database: SqliteDatabase = {
    close: () => raw.close(),
    prepare(sql: string): SqliteStatement {
      const statement = raw.prepare(sql);
      const reader = statement.columns().length > 0;
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
