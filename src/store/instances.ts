import { randomBytes } from 'node:crypto';
import { databaseNow, type Executor } from '../db/index.ts';

const HEARTBEAT_MS = 5_000;
/** An instance whose heartbeat is older than this is not counted (three missed beats). */
const LIVE_MS = 15_000;

/**
 * Every process heartbeats in the store (DESIGN.md §5.2), so that during a Redis outage each takes
 * ⌈quota ÷ live instances⌉ of a plan. Heartbeats use the database's clock, the one all instances share.
 * `live()` is synchronous: the count is refreshed with each beat (never below 1).
 */
export function createInstances(deps: { db: Executor; onError?: (error: unknown) => void }) {
  const { db } = deps;
  const id = `ins_${randomBytes(9).toString('base64url')}`;
  let live = 1;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;

  const beat = async () => {
    await db
      .insertInto('instances')
      .values({ id, started_at: databaseNow(db), heartbeat_at: databaseNow(db) })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: databaseNow(db) }))
      .execute();
    const row = await db
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('heartbeat_at', '>', databaseNow(db, -LIVE_MS))
      .executeTakeFirst();
    live = Math.max(1, Number(row?.n ?? 1));
    await db
      .deleteFrom('instances')
      .where('heartbeat_at', '<', databaseNow(db, -LIVE_MS * 20))
      .execute();
  };
  const run = () => {
    beating ??= beat()
      .catch((error) => deps.onError?.(error))
      .finally(() => {
        beating = undefined;
      });
    return beating;
  };

  return {
    id,
    /** Live instances at the last heartbeat, this one included (at least 1). */
    live: () => live,
    /** Beat now (start-up), then every 5 s. */
    async start(): Promise<void> {
      if (timer) return;
      timer = setInterval(() => void run(), HEARTBEAT_MS);
      timer.unref();
      await run();
    },
    /** Stop beating and leave the count (the others stop counting this one at once). */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await beating;
      await db
        .deleteFrom('instances')
        .where('id', '=', id)
        .execute()
        .catch(() => {});
    },
  };
}

export type Instances = ReturnType<typeof createInstances>;
