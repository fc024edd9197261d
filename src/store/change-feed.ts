import { sql } from 'kysely';
import { databaseNow, type Executor } from '../db/index.ts';
import type { Clock } from '../lib/clock.ts';

/** One committed change that may invalidate caches (DESIGN.md §2). */
export interface Change {
  id: number;
  topic: string;
  key: string;
}

export type ChangeHandler = (change: Change) => void;

export interface ChangeFeed {
  /**
   * Record a change. Pass the transaction that makes the change so the record commits (or rolls back)
   * with it. Every process — this one included — delivers it to its subscribers within one poll interval.
   * Services that must be effective on the very next call in *this* process also invalidate their own
   * cache directly after commit.
   */
  publish(topic: string, key: string, executor?: Executor): Promise<void>;
  /** Subscribe to a topic (or `*` for all); returns an unsubscribe function. */
  subscribe(topic: string, handler: ChangeHandler): () => void;
  /** Poll now instead of waiting for the next tick (after a local commit, for instance). */
  pollNow(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface ChangeFeedOptions {
  db: Executor;
  /** Elapsed time for the feed's own housekeeping (`monotonic()`); the window itself is database time. */
  clock: Clock;
  /** Poll interval; the 1-second propagation bound of DESIGN.md §2 needs it well below 1000. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

// Changes are selected by a time window rather than "id > last seen": on PostgreSQL a transaction that
// took a lower sequence value can commit after a higher one was already read, and would be missed.
// The window is about commit latency, so it is real time, and it must be one time for every process:
// rows are stamped and selected with the *database's* clock (`databaseNow`), never the domain clock
// (a test that moves the domain clock must not hide changes) nor each host's own clock (drift between
// instances would). Each process remembers the ids it has delivered, so the overlap of windows is harmless.
const WINDOW_MS = 10_000;
const RETENTION_MS = 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60_000;
// Changes committed this long before start are delivered again: a load that raced with them may have
// read the old state.
const START_OVERLAP_MS = 1000;

export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { db, clock } = options;
  const intervalMs = options.intervalMs ?? 200;
  const handlers = new Map<string, Set<ChangeHandler>>();
  const seen = new Map<number, number>(); // id → when seen (monotonic ms)
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  // Database time from which changes are delivered; set by the first poll after start().
  let deliverFrom = '';
  let needsStartTime = false;
  let lastPrune = 0;

  const deliver = (change: Change) => {
    for (const topic of [change.topic, '*']) {
      for (const handler of handlers.get(topic) ?? []) {
        try {
          handler(change);
        } catch (error) {
          options.onError?.(error);
        }
      }
    }
  };

  const pollOnce = async () => {
    if (needsStartTime) {
      const { rows } = await sql<{ at: string }>`select ${databaseNow(db, -START_OVERLAP_MS)} as at`.execute(
        db,
      );
      deliverFrom = rows[0]?.at ?? '';
      needsStartTime = false;
    }
    const rows = await db
      .selectFrom('change_log')
      .select(['id', 'topic', 'key', 'created_at'])
      .where('created_at', '>=', databaseNow(db, -WINDOW_MS))
      .orderBy('id')
      .execute();
    const now = clock.monotonic();
    for (const row of rows) {
      const id = Number(row.id);
      if (seen.has(id)) continue;
      seen.set(id, now);
      // Changes committed before this process started are already reflected in what it loaded.
      if (row.created_at < deliverFrom) continue;
      deliver({ id, topic: row.topic, key: row.key });
    }
    for (const [id, at] of seen) if (now - at > WINDOW_MS * 2) seen.delete(id);
    if (now - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = now;
      await db.deleteFrom('change_log').where('created_at', '<', databaseNow(db, -RETENTION_MS)).execute();
    }
  };

  const poll = () => {
    polling ??= pollOnce()
      .catch((error) => options.onError?.(error))
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };

  return {
    async publish(topic, key, executor = db) {
      await executor
        .insertInto('change_log')
        .values({ topic, key, created_at: databaseNow(executor) })
        .execute();
    },
    subscribe(topic, handler) {
      let set = handlers.get(topic);
      if (!set) {
        set = new Set();
        handlers.set(topic, set);
      }
      set.add(handler);
      return () => set.delete(handler);
    },
    pollNow: poll,
    start() {
      if (timer) return;
      needsStartTime = true;
      lastPrune = clock.monotonic();
      timer = setInterval(() => void poll(), intervalMs);
      timer.unref();
      void poll();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await polling;
    },
  };
}
