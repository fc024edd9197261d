import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import {
  type IRateLimiterOptions,
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible';
import type { Clock } from '../lib/clock.ts';

/**
 * State shared by every process of one deployment: counters, short-lived cache entries, pub/sub and
 * rate limiters. In memory for the embedded single process; Redis when `REDIS_URL` is set, so that
 * several processes share one budget. Selected by URL, never by a mode flag.
 */
export interface SharedState {
  readonly kind: 'memory' | 'redis';
  /** Increment a counter that expires `ttlMs` after its creation; returns the new value. */
  increment(key: string, ttlMs: number, by?: number): Promise<number>;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, handler: (message: string) => void): () => void;
  /** A rate-limiter-flexible limiter on this state (memory or Redis). */
  rateLimiter(options: Omit<IRateLimiterOptions, 'storeClient'>): RateLimiterAbstract;
  /** True when the state answers (always, in memory). */
  ping(): Promise<boolean>;
  /** Wait (at most `ms`) for the connection, so the first requests after start do not fall back. */
  waitUntilConnected(ms: number): Promise<void>;
  /**
   * Count one request against a burst window and a daily window in one round trip (DESIGN.md §1 row 9).
   * The burst counter always counts; the daily counter only when the burst allows the request, so
   * refused requests do not use the day's quota.
   */
  countRequest(windows: RequestWindows): Promise<RequestCount>;
  /** Current counts of both windows, without counting. */
  peekRequest(windows: Pick<RequestWindows, 'burst' | 'daily'>): Promise<RequestCount>;
  close(): Promise<void>;
}

export interface RequestWindows {
  /** Key of the burst window's counter. */
  burst: string;
  burstMs: number;
  burstQuota: number;
  /** Key of the daily window's counter (named after the UTC day). */
  daily: string;
  /** Lifetime of the daily counter: to the end of its day, plus a margin. */
  dailyTtlMs: number;
}

export interface RequestCount {
  burst: number;
  /** Milliseconds until the burst window resets. */
  burstResetMs: number;
  daily: number;
}

export interface SharedStateOptions {
  /** Deadline of every Redis command (DESIGN.md §5.2; `--redis-timeout-ms`, default 250). */
  timeoutMs?: number;
}

export function createSharedState(
  redisUrl: string | undefined,
  clock: Clock,
  options: SharedStateOptions = {},
): SharedState {
  return redisUrl ? createRedisState(redisUrl, options) : createMemoryState(clock);
}

/**
 * The embedded single process's state. Entry lifetimes are elapsed time (`clock.monotonic()`), as Redis
 * TTLs are: moving the domain clock does not expire them. (rate-limiter-flexible's memory limiter keeps
 * its own timers.)
 */
export function createMemoryState(clock: Clock): SharedState {
  const values = new Map<string, { value: string; expiresAt: number }>();
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const live = (key: string) => {
    const entry = values.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= clock.monotonic()) {
      values.delete(key);
      return undefined;
    }
    return entry;
  };
  const counter = (key: string, ttlMs: number, by: number) => {
    const entry = live(key);
    const next = (entry ? Number(entry.value) : 0) + by;
    const expiresAt = entry?.expiresAt ?? clock.monotonic() + ttlMs;
    if (by !== 0 || entry) values.set(key, { value: String(next), expiresAt });
    return { value: next, ttlMs: Math.max(0, expiresAt - clock.monotonic()) };
  };
  return {
    kind: 'memory',
    async countRequest(w) {
      const burst = counter(w.burst, w.burstMs, 1);
      const daily = counter(w.daily, w.dailyTtlMs, burst.value <= w.burstQuota ? 1 : 0);
      return { burst: burst.value, burstResetMs: burst.ttlMs, daily: daily.value };
    },
    async peekRequest(w) {
      const burst = live(w.burst);
      return {
        burst: burst ? Number(burst.value) : 0,
        burstResetMs: burst ? Math.max(0, burst.expiresAt - clock.monotonic()) : 0,
        daily: Number(live(w.daily)?.value ?? 0),
      };
    },
    async increment(key, ttlMs, by = 1) {
      const entry = live(key);
      const next = (entry ? Number(entry.value) : 0) + by;
      values.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? clock.monotonic() + ttlMs });
      return next;
    },
    async get(key) {
      return live(key)?.value;
    },
    async set(key, value, ttlMs) {
      values.set(key, { value, expiresAt: clock.monotonic() + ttlMs });
    },
    async delete(key) {
      values.delete(key);
    },
    async publish(channel, message) {
      bus.emit(channel, message);
    },
    subscribe(channel, handler) {
      bus.on(channel, handler);
      return () => bus.off(channel, handler);
    },
    rateLimiter: (options) => new RateLimiterMemory(options),
    ping: async () => true,
    waitUntilConnected: async () => {},
    async close() {
      values.clear();
      bus.removeAllListeners();
    },
  };
}

// One round trip for both windows; the daily counter counts only requests the burst allows.
const COUNT_REQUEST = `
local burst = redis.call('INCR', KEYS[1])
if burst == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local reset = redis.call('PTTL', KEYS[1])
local daily
if burst <= tonumber(ARGV[2]) then
  daily = redis.call('INCR', KEYS[2])
  if daily == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
else
  daily = tonumber(redis.call('GET', KEYS[2]) or '0')
end
return {burst, reset, daily}`;

/**
 * Redis, with a deadline on every command (DESIGN.md §5.2): a stopped Redis fails commands at once (no
 * offline queue), a stalled one after `timeoutMs`; callers fall back or fail closed, never hang. Rate
 * limiters made here fall back to an in-memory limiter of the same shape (rate-limiter-flexible's
 * insurance limiter) — throttles hold per instance through an outage.
 */
export function createRedisState(url: string, options: SharedStateOptions = {}): SharedState {
  const timeoutMs = options.timeoutMs ?? 250;
  const client = new Redis(url, {
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(1000, timeoutMs * 4),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: false,
  });
  let subscriber: Redis | undefined;
  const handlers = new Map<string, Set<(message: string) => void>>();
  // Connection errors are reported by the commands that fail; an unhandled 'error' event would crash.
  client.on('error', () => {});
  const getSubscriber = () => {
    if (!subscriber) {
      // Subscriptions wait for the connection (and are renewed by ioredis after a reconnect).
      subscriber = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
      subscriber.on('error', () => {});
      subscriber.on('message', (channel: string, message: string) => {
        for (const handler of handlers.get(channel) ?? []) handler(message);
      });
    }
    return subscriber;
  };
  return {
    kind: 'redis',
    async increment(key, ttlMs, by = 1) {
      const [[, value]] = (await client.multi().incrby(key, by).pexpire(key, ttlMs, 'NX').exec()) as [
        [Error | null, number],
      ];
      return Number(value);
    },
    async get(key) {
      return (await client.get(key)) ?? undefined;
    },
    async set(key, value, ttlMs) {
      await client.set(key, value, 'PX', ttlMs);
    },
    async delete(key) {
      await client.del(key);
    },
    async publish(channel, message) {
      await client.publish(channel, message);
    },
    subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        getSubscriber()
          .subscribe(channel)
          .catch(() => {});
      }
      set.add(handler);
      return () => {
        set.delete(handler);
      };
    },
    rateLimiter: (options) =>
      new RateLimiterRedis({
        ...options,
        storeClient: client,
        insuranceLimiter: new RateLimiterMemory({ ...options, keyPrefix: `insurance:${options.keyPrefix}` }),
      }),
    ping: async () => (await client.ping()) === 'PONG',
    async waitUntilConnected(ms) {
      if (client.status === 'ready') return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        client.once('ready', resolve);
      });
      clearTimeout(timer);
    },
    async countRequest(w) {
      const [burst, reset, daily] = (await client.eval(
        COUNT_REQUEST,
        2,
        w.burst,
        w.daily,
        w.burstMs,
        w.burstQuota,
        w.dailyTtlMs,
      )) as [number, number, number];
      return { burst, burstResetMs: Math.max(0, reset), daily };
    },
    async peekRequest(w) {
      const [[, burst], [, reset], [, daily]] = (await client
        .multi()
        .get(w.burst)
        .pttl(w.burst)
        .get(w.daily)
        .exec()) as [[Error | null, string | null], [Error | null, number], [Error | null, string | null]];
      return { burst: Number(burst ?? 0), burstResetMs: Math.max(0, reset), daily: Number(daily ?? 0) };
    },
    async close() {
      await Promise.allSettled([client.quit(), subscriber?.quit()]);
    },
  };
}
