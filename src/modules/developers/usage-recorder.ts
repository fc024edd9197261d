import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import type { Logger } from '../../http/logger.ts';
import { type Clock, isoAt, parseIso } from '../../lib/clock.ts';
import type { UsageEvent, UsageRecorder } from '../gateway/contract.ts';
import type { UsageRow } from './model.ts';
import { usageRepository } from './usage-repository.ts';

const FLUSH_EVERY_MS = 5_000;
const FLUSH_AT_ENTRIES = 10_000;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * Metering behind the gateway's `UsageRecorder` port (abuse detection watches the same events:
 * `abuse-detector.ts`). `record` is synchronous and
 * allocation-light: it adds one to an in-memory per-minute aggregate; a timer flushes aggregates in
 * batches (minute, hour and day buckets, as increments, so several processes add up); a failed flush
 * puts its counts back, and `stop()` flushes what is left, so nothing counted is lost on a graceful stop.
 */
export function createUsageRecorder(deps: {
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  /** Sees every recorded event (abuse detection); must be synchronous and cheap. */
  observe?: (event: UsageEvent) => void;
}) {
  const { db, logger } = deps;
  let pending = new Map<string, number>();
  // The batch being written: still counted by `meteredToday` until its transaction is done.
  let inFlight = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  async function flushOnce(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    inFlight = batch;
    const rows = new Map<string, UsageRow>();
    for (const [mapKey, count] of batch) {
      const [keyId = '', applicationId = '', api = '', operationId = '', status = '0', minute = '0'] =
        mapKey.split('\u0000');
      const at = Number(minute);
      for (const [granularity, size] of [
        ['minute', MINUTE],
        ['hour', HOUR],
        ['day', DAY],
      ] as const) {
        const bucket = isoAt(Math.floor(at / size) * size);
        const rowKey = `${keyId}\u0000${api}\u0000${operationId}\u0000${status}\u0000${granularity}\u0000${bucket}`;
        const row = rows.get(rowKey);
        if (row) row.count += count;
        else
          rows.set(rowKey, {
            keyId,
            applicationId,
            api,
            operationId,
            status: Number(status),
            granularity,
            bucket,
            count,
          });
      }
    }
    try {
      await db.transaction().execute((trx) => usageRepository.add(trx, [...rows.values()]));
    } catch (error) {
      // Put the counts back: they are retried with the next flush rather than lost.
      for (const [mapKey, count] of batch) pending.set(mapKey, (pending.get(mapKey) ?? 0) + count);
      throw error;
    } finally {
      inFlight = new Map();
    }
  }

  function flush(): Promise<void> {
    const run = async () => {
      await flushing;
      await flushOnce();
    };
    const current = run().finally(() => {
      if (flushing === current) flushing = undefined;
    });
    flushing = current.catch(() => {});
    return current;
  }

  /** This process's counts of `keyId` in [from, to) not yet written (429s aside). */
  function unflushed(keyId: string, from: number, to: number): number {
    let total = 0;
    for (const source of [pending, inFlight]) {
      for (const [mapKey, count] of source) {
        if (!mapKey.startsWith(`${keyId}\u0000`)) continue;
        const parts = mapKey.split('\u0000');
        const minute = Number(parts[5]);
        if (parts[4] !== '429' && minute >= from && minute < to) total += count;
      }
    }
    return total;
  }

  const recorder: UsageRecorder & {
    flush(): Promise<void>;
    start(): void;
    stop(): Promise<void>;
    /** Counts not yet written (tests, diagnostics). */
    pendingCount(): number;
  } = {
    record(event) {
      const minute = Math.floor(event.at / MINUTE) * MINUTE;
      const mapKey = `${event.keyId}\u0000${event.applicationId}\u0000${event.api}\u0000${event.operationId}\u0000${event.status}\u0000${minute}`;
      pending.set(mapKey, (pending.get(mapKey) ?? 0) + 1);
      if (pending.size >= FLUSH_AT_ENTRIES && !flushing) {
        flush().catch((error) => logger.warn({ err: error }, 'usage flush failed; will retry'));
      }
      deps.observe?.(event);
    },
    flush,
    /**
     * The durable floor of a key's daily quota (DESIGN.md §5.2): its answers in the store's day bucket
     * plus those still in memory here (a batch being written counts until its transaction is done).
     */
    async meteredToday(keyId, dayStart) {
      const from = parseIso(dayStart);
      const inMemory = unflushed(keyId, from, from + DAY);
      return (await usageRepository.countDay(db, keyId, isoAt(from))) + inMemory;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        flush().catch((error) => logger.warn({ err: error }, 'usage flush failed; will retry'));
      }, FLUSH_EVERY_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flush();
    },
    pendingCount() {
      let total = 0;
      for (const count of pending.values()) total += count;
      return total;
    },
  };
  return recorder;
}

export type DevelopersUsageRecorder = ReturnType<typeof createUsageRecorder>;
