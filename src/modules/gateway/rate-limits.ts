import type { RateLimiterRes } from 'rate-limiter-flexible';
import { type Clock, isoAt } from '../../lib/clock.ts';
import { createMemoryState, type RequestCount, type SharedState } from '../../store/index.ts';
import type { RatePlan } from './contract.ts';

export interface RateDecision {
  allowed: boolean;
  /** `RateLimit-Policy` value. */
  policy: string;
  /** `RateLimit` value. */
  state: string;
  /** Seconds until the exhausted window resets (429 only). */
  retryAfter: number;
}

const DAY_MS = 86_400_000;
/** After a Redis failure, the fallback serves alone this long before Redis is tried again. */
const RETRY_REDIS_MS = 1000;
/** How old the store's count of a key's day may get before it is re-read (in the background). */
const DURABLE_REFRESH_MS = 5000;

interface Compiled {
  burst: number;
  daily: number;
  policy: string;
}

interface DurableDay {
  day: number;
  /** Requests metered in the store (plus the recorder's unflushed ones) when last read. */
  base: number;
  /** Requests this process allowed since. */
  local: number;
  readAt: number;
  refreshing?: Promise<void>;
}

export interface RateLimitDeps {
  shared: SharedState;
  clock: Clock;
  /** Live instances (DESIGN.md §5.2): during a Redis outage each takes ⌈quota ÷ live⌉. */
  liveInstances?: () => number;
  /**
   * The key's requests already metered for the UTC day starting at `dayStart` (store + unflushed), so
   * that daily quotas survive restarts and Redis restarts. Without it, daily counts live in `shared` only.
   */
  meteredToday?: (keyId: string, dayStart: string) => Promise<number>;
  /** Redis failed: from now on the in-memory fallback decides (reported once per outage). */
  onFallback: (error: unknown) => void;
  /** Redis answers again. */
  onRecovered: () => void;
}

/**
 * Per-key rate limits from the application's plan (draft-ietf-httpapi-ratelimit-headers): a one-second
 * "burst" window and a UTC-day "daily" window, counted in one round trip to the shared state (memory, or
 * Redis shared by every process). DESIGN.md §5.2:
 * - a Redis that fails or stalls (its commands have a deadline) does not stop rate limiting: in-memory
 *   counters take over with ⌈quota ÷ live instances⌉ per window, and Redis is tried again each second;
 * - daily quotas are durable: a key's day is also counted as the store's metered count (plus what is
 *   not flushed yet) plus what this process allowed since reading it, so neither a restart (SQLite, no
 *   Redis) nor a Redis restart without persistence gives a key a new day's quota.
 */
export function createRateLimits(deps: RateLimitDeps) {
  const { shared, clock } = deps;
  const fallback = shared.kind === 'redis' ? createMemoryState(clock) : shared;
  const plans = new Map<string, Compiled>();
  const durable = new Map<string, DurableDay>();
  let redisDownUntil = Number.NEGATIVE_INFINITY;
  let fallingBack = false;

  const planFor = (plan: RatePlan): Compiled => {
    const id = `${plan.perSecond}:${plan.burst}:${plan.perDay}`;
    let compiled = plans.get(id);
    if (!compiled) {
      // DESIGN.md §1: `"burst";q=<burst>;w=1, "daily";q=<perDay>;w=86400` — the burst is what one second
      // may use; the plan's sustained per-second rate is bounded by it.
      const burst = Math.max(plan.burst, plan.perSecond);
      compiled = {
        burst,
        daily: plan.perDay,
        policy: `"burst";q=${burst};w=1, "daily";q=${plan.perDay};w=86400`,
      };
      plans.set(id, compiled);
    }
    return compiled;
  };

  const dayOf = (now: number) => Math.floor(now / DAY_MS) * DAY_MS;
  const windowsFor = (keyId: string, quota: number, day: number, now: number) => ({
    burst: `gw:rl:b:${keyId}`,
    burstMs: 1000,
    burstQuota: quota,
    daily: `gw:rl:d:${keyId}:${isoAt(day).slice(0, 10)}`,
    dailyTtlMs: day + DAY_MS - now + 3_600_000,
  });

  /** The shared state, or the fallback while Redis is failing; a failure switches (and is reported once). */
  async function onShared<T>(work: (state: SharedState, share: number) => Promise<T>): Promise<T> {
    if (fallback === shared || clock.monotonic() < redisDownUntil) return work(fallback, fallbackShare());
    try {
      const result = await work(shared, 1);
      if (fallingBack) {
        fallingBack = false;
        deps.onRecovered();
      }
      return result;
    } catch (error) {
      redisDownUntil = clock.monotonic() + RETRY_REDIS_MS;
      if (!fallingBack) {
        fallingBack = true;
        deps.onFallback(error);
      }
      return work(fallback, fallbackShare());
    }
  }
  const fallbackShare = () => (fallback === shared ? 1 : Math.max(1, deps.liveInstances?.() ?? 1));

  /** The durable count of a key's day: awaited once per key and day, then refreshed in the background. */
  const durableCount = (keyId: string, day: number): number | Promise<number> => {
    const meteredToday = deps.meteredToday;
    if (!meteredToday) return 0;
    const entry = durable.get(keyId);
    const read = async (target: DurableDay) => {
      const base = await meteredToday(keyId, isoAt(day));
      target.base = base;
      target.local = 0;
      target.readAt = clock.monotonic();
    };
    if (entry?.day === day) {
      if (!entry.refreshing && clock.monotonic() - entry.readAt > DURABLE_REFRESH_MS) {
        entry.refreshing = read(entry)
          .catch(() => {})
          .finally(() => {
            entry.refreshing = undefined;
          });
      }
      return entry.base + entry.local;
    }
    const fresh: DurableDay = { day, base: 0, local: 0, readAt: clock.monotonic() };
    if (durable.size > 100_000) durable.clear();
    durable.set(keyId, fresh);
    fresh.refreshing = read(fresh).finally(() => {
      fresh.refreshing = undefined;
    });
    return fresh.refreshing.then(
      () => fresh.base + fresh.local,
      () => {
        durable.delete(keyId); // read again next time
        return 0;
      },
    );
  };

  /**
   * `RateLimit`: the window closest to exhaustion (the one that will refuse first), as one item. The
   * remaining quota is rounded down to a tenth of the quota, and exact only in the last tenth: answers
   * that must be identical (DESIGN.md §1 rows 2 and 8) stay byte for byte identical, and the header does
   * not time the key's other traffic request by request.
   */
  const describe = (items: { name: string; quota: number; remaining: number; reset: number }[]) => {
    let chosen = '';
    let lowest = Number.POSITIVE_INFINITY;
    for (const item of items) {
      const remaining = Math.max(0, item.remaining);
      const share = remaining / item.quota;
      if (share < lowest) {
        lowest = share;
        const step = Math.max(1, Math.floor(item.quota / 10));
        const shown = remaining >= step ? Math.floor(remaining / step) * step : remaining;
        chosen = `"${item.name}";r=${shown};t=${Math.max(0, item.reset)}`;
      }
    }
    return chosen;
  };

  const answer = (compiled: Compiled, count: RequestCount, dailyUsed: number, now: number, day: number) => {
    const dailyReset = Math.ceil((day + DAY_MS - now) / 1000);
    return describe([
      {
        name: 'burst',
        quota: compiled.burst,
        remaining: compiled.burst - count.burst,
        reset: count.burst === 0 ? 1 : Math.ceil(count.burstResetMs / 1000),
      },
      { name: 'daily', quota: compiled.daily, remaining: compiled.daily - dailyUsed, reset: dailyReset },
    ]);
  };

  return {
    /** Count one request of `keyId` against its plan: one round trip for both windows. */
    async consume(keyId: string, plan: RatePlan): Promise<RateDecision> {
      const compiled = planFor(plan);
      const now = clock.now();
      const day = dayOf(now);
      const floor = durableCount(keyId, day);
      let burstQuota = compiled.burst;
      let dailyQuota = compiled.daily;
      const count = await onShared((state, share) => {
        burstQuota = Math.ceil(compiled.burst / share);
        dailyQuota = Math.ceil(compiled.daily / share);
        return state.countRequest(windowsFor(keyId, burstQuota, day, now));
      });
      const metered = typeof floor === 'number' ? floor : await floor;
      const burstOk = count.burst <= burstQuota;
      const dailyUsed = Math.max(count.daily, metered + 1);
      const dailyOk = count.daily <= dailyQuota && metered + 1 <= compiled.daily;
      const allowed = burstOk && dailyOk;
      if (allowed) {
        const entry = durable.get(keyId);
        if (entry?.day === day) entry.local++;
      }
      const retryAfter = allowed
        ? 0
        : !burstOk
          ? Math.max(1, Math.ceil(count.burstResetMs / 1000))
          : Math.max(1, Math.ceil((day + DAY_MS - now) / 1000));
      return {
        allowed,
        policy: compiled.policy,
        state: answer(compiled, count, dailyUsed, now, day),
        retryAfter,
      };
    },

    /** The current state without counting (answers refused before the rate limit step). */
    async peek(keyId: string, plan: RatePlan): Promise<{ policy: string; state: string }> {
      const compiled = planFor(plan);
      const now = clock.now();
      const day = dayOf(now);
      const count = await onShared((state) => state.peekRequest(windowsFor(keyId, compiled.burst, day, now)));
      const entry = durable.get(keyId);
      const metered = entry?.day === day ? entry.base + entry.local : 0;
      return {
        policy: compiled.policy,
        state: answer(compiled, count, Math.max(count.daily, metered), now, day),
      };
    },

    /** Whether Redis is failing and the in-memory fallback decides (readiness, tests). */
    isFallingBack: () => fallingBack,
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;

/**
 * The pre-authentication throttle (DESIGN.md §1 row 9): failed key/token attempts counted per client
 * address. Checking is a local lookup (no store round trip on the hot path); counting goes to the shared
 * state, so a block learned by one process from its own failures applies there immediately. A block
 * lasts in elapsed (monotonic) time: moving the domain clock neither lifts nor extends it.
 */
export function createFailureThrottle(deps: {
  shared: SharedState;
  clock: Clock;
  failures: number;
  windowSeconds: number;
  onError: (error: unknown) => void;
}) {
  const limiter = deps.shared.rateLimiter({
    keyPrefix: 'gw:preauth',
    points: deps.failures,
    duration: deps.windowSeconds,
  });
  const blockedUntil = new Map<string, number>();
  const policy = `"failures";q=${deps.failures};w=${deps.windowSeconds}`;
  return {
    policy,
    /** Seconds the address stays blocked, or 0. */
    blockedFor(address: string): number {
      const until = blockedUntil.get(address);
      if (until === undefined) return 0;
      const left = until - deps.clock.monotonic();
      if (left <= 0) {
        blockedUntil.delete(address);
        return 0;
      }
      return Math.ceil(left / 1000);
    },
    recordFailure(address: string): void {
      limiter.consume(address).catch((res: unknown) => {
        if (res instanceof Error) return deps.onError(res);
        const ms = (res as RateLimiterRes).msBeforeNext;
        if (blockedUntil.size > 100_000) blockedUntil.clear();
        blockedUntil.set(address, deps.clock.monotonic() + Math.max(ms, 1000));
      });
    },
  };
}

export type FailureThrottle = ReturnType<typeof createFailureThrottle>;
