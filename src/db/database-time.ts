import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

/**
 * The database server's current time, as an SQL expression in the format of every `*_at` column
 * (RFC 3339 UTC with milliseconds, e.g. `2026-05-01T10:00:00.123Z`), shifted by `offsetMs`.
 *
 * For the few timestamps that are about the real world shared by every process rather than about the
 * domain (the change log's commit-latency window): the database is the one clock all instances agree on,
 * however far apart their hosts' clocks drift, and a test that moves the domain clock does not move it.
 * Domain time (token lifetimes, expiries, audit timestamps) comes from the injected `Clock` instead.
 */
export function databaseNow(
  // biome-ignore lint/suspicious/noExplicitAny: works on any schema (migrations use an untyped Kysely).
  executor: Kysely<any>,
  offsetMs = 0,
): RawBuilder<string> {
  const offset = Math.trunc(offsetMs);
  if (executor.getExecutor().adapter instanceof PostgresAdapter) {
    // clock_timestamp(), not now(): now() is the transaction's start, which may be long before commit.
    return sql<string>`to_char((clock_timestamp() + interval '1 millisecond' * ${sql.lit(offset)}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  }
  return sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${offset / 1000} seconds`})`;
}
