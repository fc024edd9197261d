import { PostgresAdapter, sql } from 'kysely';
import { databaseNow, type Executor } from '../db/index.ts';
import type { Clock } from '../lib/clock.ts';
import type { ResilienceSignals } from './resilience-signals.ts';

/** One committed change that may invalidate caches (DESIGN.md §2). */
export interface Change {
  id: number;
  topic: string;
  key: string;
}

export type ChangeHandler = (change: Change) => void;

/** Drops a cache (or reloads it) after the feed could not be read for a while. */
export type ResyncHandler = () => void | Promise<void>;

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
  /**
   * Run `handler` (drop every cache, reload the denylist) after any gap longer than the staleness bound,
   * before the feed counts as fresh again (DESIGN.md §5.2). Returns an unsubscribe function.
   */
  onResync(handler: ResyncHandler): () => void;
  /** Poll now instead of waiting for the next tick (after a local commit, for instance). */
  pollNow(): Promise<void>;
  /** True while the last successful read is at most the staleness bound old (synchronous, hot path). */
  isFresh(): boolean;
  /**
   * Fresh, or fresh after one read made now and awaited at most `deadlineMs`: a process whose timer
   * was merely late (a busy event loop) answers normally; one whose store does not answer gets false.
   */
  ensureFresh(deadlineMs?: number): Promise<boolean>;
  /** For readiness and metrics: is the feed fresh, and how old is its last successful read (ms). */
  status(): { fresh: boolean; lagMs: number };
  start(): void;
  stop(): Promise<void>;
}

export interface ChangeFeedOptions {
  db: Executor;
  /** Elapsed time (`monotonic()`) for staleness and housekeeping; retention is database time. */
  clock: Clock;
  /** Poll interval: DESIGN.md §5.2 asks for a read at least every 250 ms. */
  intervalMs?: number;
  /** The last successful read may be this old before decisions need a new one (DESIGN.md §5.2: 750). */
  staleAfterMs?: number;
  onError?: (error: unknown) => void;
  signals?: ResilienceSignals;
}

// Changes are followed by cursor (the last id delivered), never by a time window, so a process that was
// paused or cut off for any length of time still delivers every change of the gap. The catch on
// PostgreSQL: a transaction that took a lower id may commit after a higher id was read. Such an id shows
// up as a hole below the cursor; it is asked for again on every poll until it appears, or until every
// transaction that was running when the hole was noticed has ended (the snapshot's xmin passed the xmax
// recorded then) — after which a read sees the row if it was ever committed, so a hole left for good by a
// rollback is forgotten without losing anything. SQLite has one writer at a time: ids commit in order.
const RETENTION_MS = 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60_000;
// Changes committed this long before start are delivered again: a load that raced with them may have
// read the old state.
const START_OVERLAP_MS = 1000;
// A jump of more ids than this is not tracked hole by hole (a sequence skips at most 32 after a crash).
const MAX_HOLES = 1000;

interface Snapshot {
  xmin: bigint;
  xmax: bigint;
}

interface Hole {
  /** The xmax of the first snapshot taken after the hole was noticed. */
  xmax?: bigint;
  /** Every transaction that could hold this id had ended before this poll's read. */
  settled?: boolean;
}

export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { db, clock } = options;
  const intervalMs = options.intervalMs ?? 250;
  const staleAfterMs = options.staleAfterMs ?? 750;
  const handlers = new Map<string, Set<ChangeHandler>>();
  const resyncHandlers = new Set<ResyncHandler>();
  const holes = new Map<number, Hole>();
  const isPostgres = db.getExecutor().adapter instanceof PostgresAdapter;
  let cursor: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  // Monotonic time of the last successful read; -Infinity before the first one: stale until then.
  let lastRead = Number.NEGATIVE_INFINITY;
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

  const snapshot = async (): Promise<Snapshot | undefined> => {
    if (!isPostgres) return undefined;
    const { rows } = await sql<{ xmin: string; xmax: string }>`
      select pg_snapshot_xmin(s)::text as xmin, pg_snapshot_xmax(s)::text as xmax
      from pg_current_snapshot() as s`.execute(db);
    const row = rows[0];
    return row && { xmin: BigInt(row.xmin), xmax: BigInt(row.xmax) };
  };

  const initialCursor = async () => {
    const row = await db
      .selectFrom('change_log')
      .select((eb) => eb.fn.max('id').as('id'))
      .where('created_at', '<', databaseNow(db, -START_OVERLAP_MS))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  };

  const readChanges = async (from: number) => {
    const rows = await db
      .selectFrom('change_log')
      .select(['id', 'topic', 'key'])
      .where((eb) =>
        holes.size === 0
          ? eb('id', '>', from)
          : eb.or([eb('id', '>', from), eb('id', 'in', [...holes.keys()])]),
      )
      .orderBy('id')
      .execute();
    return rows.map((row) => ({ id: Number(row.id), topic: row.topic, key: row.key }));
  };

  const pollOnce = async () => {
    const startedAt = clock.monotonic();
    cursor ??= await initialCursor();
    const current = await snapshot();
    for (const hole of holes.values()) {
      if (!current) hole.settled = true;
      else if (hole.xmax === undefined) hole.xmax = current.xmax;
      else if (current.xmin >= hole.xmax) hole.settled = true;
    }
    const rows = await readChanges(cursor);
    for (const change of rows) {
      if (change.id > cursor) {
        if (change.id - cursor - 1 <= MAX_HOLES)
          for (let id = cursor + 1; id < change.id; id++) holes.set(id, {});
        cursor = change.id;
      } else {
        holes.delete(change.id);
      }
      deliver(change);
    }
    for (const [id, hole] of holes) if (hole.settled) holes.delete(id);

    // A gap longer than the staleness bound: whatever the cursor delivered, every cache is dropped and the
    // denylist reloaded before the feed counts as fresh again (and so before any decision is answered).
    if (startedAt - lastRead > staleAfterMs) {
      const results = await Promise.allSettled([...resyncHandlers].map(async (handler) => handler()));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    }
    lastRead = startedAt;
    options.signals?.changeLogLag(0);

    if (startedAt - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = startedAt;
      await db
        .deleteFrom('change_log')
        .where('created_at', '<', databaseNow(db, -RETENTION_MS))
        .where('id', '<=', cursor)
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

  const isFresh = () => clock.monotonic() - lastRead <= staleAfterMs;

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
    onResync(handler) {
      resyncHandlers.add(handler);
      return () => resyncHandlers.delete(handler);
    },
    pollNow: poll,
    isFresh,
    async ensureFresh(deadlineMs = 250) {
      if (isFresh()) return true;
      if (!timer) return false; // not started, or stopped: nothing will read
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([
        poll(),
        new Promise<void>((resolve) => {
          deadline = setTimeout(resolve, deadlineMs);
        }),
      ]);
      clearTimeout(deadline);
      return isFresh();
    },
    status() {
      const lagMs = Math.max(0, clock.monotonic() - lastRead);
      options.signals?.changeLogLag(lagMs);
      return { fresh: lagMs <= staleAfterMs, lagMs };
    },
    start() {
      if (timer) return;
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
