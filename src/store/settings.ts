import type { Executor } from '../db/index.ts';
import { type Clock, isoAt } from '../lib/clock.ts';
import type { ChangeFeed } from './change-feed.ts';

/**
 * Institution-wide settings stored as JSON (lifetimes, thresholds…). Reads are cached in-process and
 * invalidated through the change feed (topic `setting`), so a CLI change reaches running servers.
 */
export function createSettings(deps: { db: Executor; clock: Clock; changes: ChangeFeed }) {
  const { db, clock, changes } = deps;
  const cache = new Map<string, unknown>();
  changes.subscribe('setting', (change) => cache.delete(change.key));
  changes.onResync(() => cache.clear());

  return {
    /** Reads go through the cache and the database itself, never a caller's (uncommitted) transaction. */
    async get<T>(key: string, fallback: T): Promise<T> {
      if (cache.has(key)) return cache.get(key) as T;
      const row = await db
        .selectFrom('settings')
        .select('value_json')
        .where('key', '=', key)
        .executeTakeFirst();
      const value = row ? (JSON.parse(row.value_json) as T) : fallback;
      cache.set(key, value);
      return value;
    },
    async set(key: string, value: unknown, executor: Executor = db): Promise<void> {
      const valueJson = JSON.stringify(value);
      const updatedAt = isoAt(clock.now());
      await executor
        .insertInto('settings')
        .values({ key, value_json: valueJson, updated_at: updatedAt })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value_json: valueJson, updated_at: updatedAt }))
        .execute();
      await changes.publish('setting', key, executor);
      cache.delete(key);
    },
  };
}

export type Settings = ReturnType<typeof createSettings>;
