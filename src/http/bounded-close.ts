import type { FastifyInstance } from 'fastify';
import type { Logger } from './logger.ts';

/** Resolves `true` when `promise` settles within `ms`, `false` when the time runs out first. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stop the listener within a bound (DESIGN.md §5.2): stop accepting at once (requests arriving on open
 * keep-alive connections get 503), give in-flight requests at most `graceMs` to finish, then close every
 * connection still open, so a request waiting on a stalled upstream or a slow client cannot hold the
 * process. Resolves when the listener is closed (or, should a socket refuse to go, shortly after).
 */
export async function closeListener(http: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  const closed = http.close();
  if (await settlesWithin(closed, graceMs)) return;
  logger.warn({ graceMs }, 'shutdown grace over: closing the connections of requests still in flight');
  http.server.closeAllConnections();
  await settlesWithin(closed, 500);
}
