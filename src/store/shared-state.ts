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
  close(): Promise<void>;
}

export function createSharedState(redisUrl: string | undefined, clock: Clock): SharedState {
  return redisUrl ? createRedisState(redisUrl) : createMemoryState(clock);
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
  return {
    kind: 'memory',
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
    async close() {
      values.clear();
      bus.removeAllListeners();
    },
  };
}

export function createRedisState(url: string): SharedState {
  const client = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
  let subscriber: Redis | undefined;
  const handlers = new Map<string, Set<(message: string) => void>>();
  // Connection errors are reported by the commands that fail; an unhandled 'error' event would crash.
  client.on('error', () => {});
  const getSubscriber = () => {
    if (!subscriber) {
      subscriber = client.duplicate();
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
        void getSubscriber().subscribe(channel);
      }
      set.add(handler);
      return () => {
        set.delete(handler);
      };
    },
    rateLimiter: (options) => new RateLimiterRedis({ ...options, storeClient: client }),
    ping: async () => (await client.ping()) === 'PONG',
    async close() {
      await Promise.allSettled([client.quit(), subscriber?.quit()]);
    },
  };
}
