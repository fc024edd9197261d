import { performance } from 'node:perf_hooks';

/**
 * The one time source of the platform. Two kinds of time, never mixed:
 * - **domain time** (`now()`): token lifetimes, key expiry, transfer schedules, rate windows, audit
 *   timestamps. Manual in tests, so a test moves time without sleeping or faking the global `Date`.
 * - **elapsed time** (`monotonic()`): staleness, deadlines, throttles and latency measurements. It never
 *   jumps with the wall clock or with a test's manual domain clock, so "the last change-log read is more
 *   than 750 ms old" stays true to the real world while a test moves the domain clock by hours.
 *
 * Product code reads time only through an injected `Clock` (this file is the only reader of `Date.now()`
 * and `performance.now()`); libraries that read `Date` themselves (oidc-provider, rate-limiter-flexible)
 * are the only exception.
 */
export interface Clock {
  /** Domain time: milliseconds since the epoch. */
  now(): number;
  /** Elapsed time: milliseconds from an arbitrary origin, never going backwards. */
  monotonic(): number;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
});

/** A clock whose domain time only moves when told to; elapsed time stays real unless moved too. */
export interface ManualClock extends Clock {
  /** Move domain time forward (elapsed time does not move). */
  advance(ms: number): void;
  /** Set domain time (elapsed time does not move). */
  set(ms: number): void;
  /** Move elapsed time forward, e.g. to expire a throttle window without sleeping. */
  advanceMonotonic(ms: number): void;
}

export function createManualClock(startMs: number = Date.now()): ManualClock {
  let current = startMs;
  let monotonicOffset = 0;
  return {
    now: () => current,
    monotonic: () => performance.now() + monotonicOffset,
    advance(ms) {
      current += ms;
    },
    set(ms) {
      current = ms;
    },
    advanceMonotonic(ms) {
      monotonicOffset += ms;
    },
  };
}

/** RFC 3339 UTC timestamp of a clock reading. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

/** Milliseconds since the epoch of an RFC 3339 timestamp (NaN when it does not parse). */
export function parseIso(value: string): number {
  return Date.parse(value);
}
