/**
 * The time source of domain logic (token lifetimes, key expiry, transfer schedules, rate windows).
 * Injected through `createApp` so tests can move time without test flags in product code.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that only moves when told to; for tests and simulations. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

export function createManualClock(startMs: number = Date.now()): ManualClock {
  let current = startMs;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
    set(ms) {
      current = ms;
    },
  };
}

/** RFC 3339 UTC timestamp of a clock reading. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}
