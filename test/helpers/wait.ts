import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long (default 2000 ms); the wait then fails with `what` in its message. */
  timeoutMs?: number;
  /** Pause between probes (default 10 ms). */
  intervalMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
}

/**
 * Synchronise on an event instead of sleeping: probe until `probe` returns something other than
 * `undefined`, `null` or `false`, and return that. Fails (throws) when the deadline passes, so a test
 * that waits for something that never happens fails instead of passing by luck.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 2000, intervalMs = 10 } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (performance.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}`);
    await sleep(intervalMs);
  }
}

/**
 * How long (ms) until `probe` holds, for tests of a propagation bound ("refused within one second"):
 * waits up to `timeoutMs` (longer than the bound, so the assertion reports the real figure).
 */
export async function timeUntil(
  probe: () => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<number> {
  const started = performance.now();
  await waitFor(async () => (await probe()) || undefined, options);
  return performance.now() - started;
}
