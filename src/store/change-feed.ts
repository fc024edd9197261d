import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

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
  publish(topic: string, key: string, executor?: Kysely<Database> | Transaction<Database>): Promise<void>;
  /** Subscribe to a topic (or `*` for all); returns an unsubscribe function. */
  subscribe(topic: string, handler: ChangeHandler): () => void;
  /** Poll now instead of waiting for the next tick (after a local commit, for instance). */
  pollNow(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface ChangeFeedOptions {
  db: Kysely<Database>;
  /** Poll interval; the 1-second propagation bound of DESIGN.md §2 needs it well below 1000. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

// Changes are selected by a time window rather than "id > last seen": on PostgreSQL a transaction that
// took a lower sequence value can commit after a higher one was already read, and would be missed.
// The window is wall-clock time on purpose (not the injectable domain clock): it is about commit
// latency, and tests that move the domain clock must not hide changes.
const WINDOW_MS = 10_000;
const RETENTION_MS = 60 * 60 * 1000;

export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { db } = options;
  const intervalMs = options.intervalMs ?? 200;
  const handlers = new Map<string, Set<ChangeHandler>>();
  const seen = new Map<number, number>(); // id → when seen (ms)
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let startedAt = 0;
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
    const now = Date.now();
    const since = new Date(Math.max(startedAt, now) - WINDOW_MS).toISOString();
    const rows = await db
      .selectFrom('change_log')
      .select(['id', 'topic', 'key', 'created_at'])
      .where('created_at', '>=', since)
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const id = Number(row.id);
      if (seen.has(id)) continue;
      seen.set(id, now);
      // Changes committed before this process started are already reflected in what it loaded.
      if (Date.parse(row.created_at) < startedAt - 1000) continue;
      deliver({ id, topic: row.topic, key: row.key });
    }
    for (const [id, at] of seen) if (now - at > WINDOW_MS * 2) seen.delete(id);
    if (now - lastPrune > 60_000) {
      lastPrune = now;
      await db
        .deleteFrom('change_log')
        .where('created_at', '<', new Date(now - RETENTION_MS).toISOString())
        .execute();
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
        .values({ topic, key, created_at: new Date().toISOString() })
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
      startedAt = Date.now();
      lastPrune = startedAt;
      timer = setInterval(() => void poll(), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await polling;
    },
  };
}
