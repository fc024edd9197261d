/** Which dependency failed, for the 503 counter (DESIGN.md §5.2). */
export type FailedDependency = 'store' | 'redis';

// PostgreSQL SQLSTATEs that mean "the database cannot serve you right now", not "your query is wrong":
// class 08 (connection exception), 53300 (too many connections), 57014 (statement timeout), 57P01–57P03
// (shutdown, crash, cannot connect now), 40001/40P01 are NOT here: they are retried by their callers.
const PG_UNAVAILABLE = /^(08...|53300|57014|57P0[1-3])$/;
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'DEADLINE_EXCEEDED',
]);
// pg and ioredis report some failures by message only.
const STORE_MESSAGES =
  /^(timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end)/;
const REDIS_MESSAGES =
  /^(Command timed out|Connection is closed|Stream isn't writeable|Reached the max retries per request)/;
// SQLite: SQLITE_BUSY / SQLITE_LOCKED after busy_timeout.
const SQLITE_BUSY = /database is (locked|busy)|database table is locked/;

/**
 * Whether `error` (or one of its causes) is a dependency that did not answer — the store or Redis down,
 * stalled past its deadline, or busy — rather than a bug. Such a request answers 503
 * `serviceUnavailable` + `Retry-After`, never 500 (DESIGN.md §5.2).
 */
export function failedDependency(error: unknown): FailedDependency | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown };
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.test(message)) return 'redis';
    if (PG_UNAVAILABLE.test(code) || NET_CODES.has(code) || STORE_MESSAGES.test(message)) return 'store';
    if (code === 'ERR_SQLITE_ERROR' && SQLITE_BUSY.test(message)) return 'store';
    if (e.name === 'DeadlineExceeded') return /redis/i.test(message) ? 'redis' : 'store';
    current = e.cause;
  }
  return undefined;
}
