import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { Clock } from '../../lib/clock.ts';
import type { SharedState } from '../../store/index.ts';
import type { RatePlan } from './contract.ts';

/** One window of a plan, named as it appears in `RateLimit-Policy`. */
interface Window {
  name: string;
  quota: number;
  seconds: number;
}

export interface RateDecision {
  allowed: boolean;
  /** `RateLimit-Policy` value. */
  policy: string;
  /** `RateLimit` value. */
  state: string;
  /** Seconds until the exhausted window resets (429 only). */
  retryAfter: number;
}

/**
 * Per-key rate limits from the application's plan (draft-ietf-httpapi-ratelimit-headers): a one-second
 * "burst" window and a "daily" window. Counters live in the shared state (memory, or Redis shared by
 * every process).
 */
export function createRateLimits(deps: { shared: SharedState; onError: (error: unknown) => void }) {
  const limiters = new Map<string, RateLimiterAbstract>();
  const plans = new Map<string, { windows: Window[]; policy: string }>();

  const limiterFor = (window: Window) => {
    const id = `${window.name}:${window.quota}:${window.seconds}`;
    let limiter = limiters.get(id);
    if (!limiter) {
      limiter = deps.shared.rateLimiter({
        keyPrefix: `gw:rl:${window.name}:${window.quota}:${window.seconds}`,
        points: window.quota,
        duration: window.seconds,
      });
      limiters.set(id, limiter);
    }
    return limiter;
  };

  const planFor = (plan: RatePlan) => {
    const id = `${plan.perSecond}:${plan.burst}:${plan.perDay}`;
    let compiled = plans.get(id);
    if (!compiled) {
      // DESIGN.md §1: `"burst";q=<burst>;w=1, "daily";q=<perDay>;w=86400` — the burst is what one second
      // may use; the plan's sustained per-second rate is bounded by it.
      const windows: Window[] = [
        { name: 'burst', quota: Math.max(plan.burst, plan.perSecond), seconds: 1 },
        { name: 'daily', quota: plan.perDay, seconds: 86_400 },
      ];
      compiled = {
        windows,
        policy: windows.map((w) => `"${w.name}";q=${w.quota};w=${w.seconds}`).join(', '),
      };
      plans.set(id, compiled);
    }
    return compiled;
  };

  /**
   * `RateLimit`: the window closest to exhaustion (the one that will refuse first), as one item. The
   * remaining quota is rounded down to a tenth of the quota, and exact only in the last tenth: answers
   * that must be identical (DESIGN.md §1 rows 2 and 8) stay byte for byte identical, and the header does
   * not time the key's other traffic request by request.
   */
  const describe = (windows: Window[], results: (RateLimiterRes | null)[]) => {
    let chosen = '';
    let lowest = Number.POSITIVE_INFINITY;
    windows.forEach((w, i) => {
      const result = results[i];
      const remaining = result ? Math.max(0, result.remainingPoints) : w.quota;
      const reset = result ? Math.max(0, Math.ceil(result.msBeforeNext / 1000)) : w.seconds;
      const share = remaining / w.quota;
      if (share < lowest) {
        lowest = share;
        const step = Math.max(1, Math.floor(w.quota / 10));
        const shown = remaining >= step ? Math.floor(remaining / step) * step : remaining;
        chosen = `"${w.name}";r=${shown};t=${reset}`;
      }
    });
    return chosen;
  };

  return {
    /** Count one request of `keyId` against its plan. Fails open (and reports) when the store errs. */
    async consume(keyId: string, plan: RatePlan): Promise<RateDecision> {
      const { windows, policy } = planFor(plan);
      const results = await Promise.all(
        windows.map((w) =>
          limiterFor(w)
            .consume(keyId)
            .then(
              (res) => ({ res, ok: true }),
              (res: unknown) => {
                if (res instanceof Error) {
                  deps.onError(res);
                  return { res: null, ok: true };
                }
                return { res: res as RateLimiterRes, ok: false };
              },
            ),
        ),
      );
      const refused = results.map((r, i) => (r.ok ? -1 : i)).filter((i) => i >= 0);
      const retryAfter = refused.length
        ? Math.max(1, ...refused.map((i) => Math.ceil((results[i]?.res?.msBeforeNext ?? 1000) / 1000)))
        : 0;
      return {
        allowed: refused.length === 0,
        policy,
        state: describe(
          windows,
          results.map((r) => r.res),
        ),
        retryAfter,
      };
    },

    /** The current state without counting (answers refused before the rate limit step). */
    async peek(keyId: string, plan: RatePlan): Promise<{ policy: string; state: string }> {
      const { windows, policy } = planFor(plan);
      const results = await Promise.all(
        windows.map((w) =>
          limiterFor(w)
            .get(keyId)
            .catch((error: unknown) => {
              deps.onError(error);
              return null;
            }),
        ),
      );
      return { policy, state: describe(windows, results) };
    },
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
