import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import type { Logger } from '../../http/logger.ts';
import { type Clock, isoAt, parseIso } from '../../lib/clock.ts';
import type { ChangeFeed, Settings, SharedState } from '../../store/index.ts';
import type { UsageEvent, UsageRecorder } from '../gateway/contract.ts';
import { ABUSE_SETTING, type AbuseSettings, DEFAULT_ABUSE, normalizeAbuse } from './abuse-settings.ts';
import type { UsageRow } from './model.ts';
import { usageRepository } from './usage-repository.ts';

type AbuseKind = 'refusals' | 'rateLimited';

/** The shared counter of one key's answers of one kind in one fixed window. */
export function abuseCounterKey(kind: AbuseKind, keyId: string, at: number, windowSeconds: number): string {
  return `abuse:${kind}:${keyId}:${Math.floor(at / (windowSeconds * 1000))}`;
}

/** Refusals caused by the key's own state: counting them would re-trigger on a key already stopped. */
const STATE_REASONS = new Set(['pending', 'suspended', 'applicationPending', 'applicationSuspended']);
const REFUSALS = new Set([401, 403, 404]);

/** The gateway logs refusals as `<refusal>:<detail>`, e.g. `keyNotActive:suspended`. */
function isStateRefusal(reason: string | undefined): boolean {
  if (!reason) return false;
  return reason.startsWith('keyNotActive') || reason.split(':').some((part) => STATE_REASONS.has(part));
}
const FLUSH_EVERY_MS = 5_000;
const FLUSH_AT_ENTRIES = 10_000;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * Metering and abuse detection behind the gateway's `UsageRecorder` port. `record` is synchronous and
 * allocation-light: it adds one to an in-memory per-minute aggregate; a timer flushes aggregates in
 * batches (minute, hour and day buckets, as increments, so several processes add up); a failed flush
 * puts its counts back, and `stop()` flushes what is left, so nothing counted is lost on a graceful stop.
 */
export function createUsageRecorder(deps: {
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  settings: Settings;
  changes: ChangeFeed;
  /** Shared counters (memory, or Redis when scaled out) so that processes add up their observations. */
  shared?: Pick<SharedState, 'increment'>;
  /** Called once when a key crosses the abuse threshold. */
  onAbuse: (event: UsageEvent, count: number, settings: AbuseSettings, kind: AbuseKind) => Promise<void>;
}) {
  const { db, clock, logger, settings, changes } = deps;
  let pending = new Map<string, number>();
  // The batch being written: still counted by `meteredToday` until its transaction is done.
  let inFlight = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let abuse: AbuseSettings = DEFAULT_ABUSE;
  const refusals = new Map<string, number[]>();
  const rateLimited = new Map<string, number[]>();
  const triggered = new Set<string>();

  const loadSettings = async () => {
    abuse = normalizeAbuse(await settings.get<Partial<AbuseSettings>>(ABUSE_SETTING, DEFAULT_ABUSE));
  };
  changes.subscribe('setting', (change) => {
    if (change.key === ABUSE_SETTING) void loadSettings().catch(() => {});
  });

  /** Adds one event to a key's sliding window; returns how many events the window now holds. */
  function countInWindow(windows: Map<string, number[]>, keyId: string, at: number): number {
    let times = windows.get(keyId);
    if (!times) {
      times = [];
      windows.set(keyId, times);
    }
    times.push(at);
    const windowStart = at - abuse.windowSeconds * 1000;
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= windowStart) drop++;
    if (drop > 0) times.splice(0, drop);
    return times.length;
  }

  function trigger(event: UsageEvent, count: number, kind: AbuseKind) {
    if (triggered.has(event.keyId)) return;
    triggered.add(event.keyId);
    refusals.delete(event.keyId);
    rateLimited.delete(event.keyId);
    deps
      .onAbuse(event, count, abuse, kind)
      .catch((error) => logger.error({ err: error, apiKeyId: event.keyId }, 'abuse suspension failed'))
      .finally(() => triggered.delete(event.keyId));
  }

  /**
   * Several processes behind a load balancer each see part of a key's traffic: besides the exact local
   * sliding window, every counted answer is added to a shared fixed-window counter (Redis when scaled
   * out), so the key is suspended once all processes together pass the threshold. A fixed window never
   * holds more than the sliding one, so this cannot suspend a key early.
   */
  function countShared(event: UsageEvent, kind: AbuseKind, max: number) {
    if (!deps.shared) return;
    const windowMs = abuse.windowSeconds * 1000;
    deps.shared
      .increment(abuseCounterKey(kind, event.keyId, event.at, abuse.windowSeconds), windowMs * 2)
      .then((total) => {
        if (total > max) trigger(event, total, kind);
      })
      .catch((error) => logger.warn({ err: error }, 'shared abuse counter unavailable'));
  }

  function watchAbuse(event: UsageEvent) {
    if (event.abuseExempt || triggered.has(event.keyId)) return;
    let kind: AbuseKind;
    let count: number;
    let max: number;
    if (event.status === 429) {
      kind = 'rateLimited';
      max = abuse.maxRateLimited;
      count = countInWindow(rateLimited, event.keyId, event.at);
    } else if (REFUSALS.has(event.status) && !isStateRefusal(event.reason)) {
      kind = 'refusals';
      max = abuse.maxRefusals;
      count = countInWindow(refusals, event.keyId, event.at);
    } else {
      return;
    }
    if (count > max) trigger(event, count, kind);
    else countShared(event, kind, max);
  }

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
    reloadSettings(): Promise<void>;
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
      watchAbuse(event);
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
    /** Re-read the abuse threshold now (the change feed does it within a poll interval anyway). */
    reloadSettings: loadSettings,
    start() {
      void loadSettings().catch((error) => logger.warn({ err: error }, 'abuse settings not loaded'));
      if (timer) return;
      timer = setInterval(() => {
        flush().catch((error) => logger.warn({ err: error }, 'usage flush failed; will retry'));
        for (const windows of [refusals, rateLimited]) {
          for (const [keyId, times] of windows) {
            // Event times are domain time (the gateway's clock), so the sweep compares with it too.
            const last = times[times.length - 1] ?? 0;
            if (clock.now() - last > abuse.windowSeconds * 2000) windows.delete(keyId);
          }
        }
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
