import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

/** What one request came to: an answer, or an error (refused, reset, or no answer before the timeout). */
export type Outcome =
  | {
      kind: 'answer';
      status: number;
      headers: Record<string, string>;
      text: string;
      /** Wall-clock (epoch ms) send and answer times, comparable with other processes' timestamps. */
      sentAt: number;
      answeredAt: number;
      ms: number;
    }
  | { kind: 'error'; error: string; timedOut: boolean; sentAt: number; answeredAt: number; ms: number };

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Give up after this long (default 10 s): a hang is measured, never waited out. */
  timeoutMs?: number;
}

/** An HTTP(S) client for 127.0.0.1 that trusts the cluster's CA; keeps connections alive like a real client. */
export function createHttp(caPem: string) {
  const agentFrom = (localAddress?: string) =>
    new Agent({ connect: { ca: caPem }, localAddress, connections: 256, keepAliveTimeout: 4000 });
  let agent = agentFrom();
  let retired: Agent[] = [];
  return {
    /**
     * Send from another loopback address (127.0.0.0/8 is all local on Linux), as another client would: the
     * instances' per-address pre-authentication throttle (DESIGN.md §1 row 9) then counts one scenario's
     * refusals only, instead of carrying one scenario's 401s into the next as 429s.
     */
    useClientAddress(localAddress: string) {
      retired.push(agent);
      agent = agentFrom(localAddress);
    },
    async send(url: string, options: SendOptions = {}): Promise<Outcome> {
      const sentAt = Date.now();
      const started = performance.now();
      const timeoutMs = options.timeoutMs ?? 10_000;
      try {
        const response = await request(url, {
          dispatcher: agent,
          method: (options.method ?? 'GET') as 'GET',
          headers: options.headers,
          body: options.body,
          signal: AbortSignal.timeout(timeoutMs),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const text = await response.body.text();
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers))
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
        return {
          kind: 'answer',
          status: response.statusCode,
          headers,
          text,
          sentAt,
          answeredAt: Date.now(),
          ms: performance.now() - started,
        };
      } catch (error) {
        const ms = performance.now() - started;
        const name = (error as Error).name;
        return {
          kind: 'error',
          error: (error as NodeJS.ErrnoException).code ?? name,
          timedOut: name === 'TimeoutError' || name === 'AbortError' || ms >= timeoutMs,
          sentAt,
          answeredAt: Date.now(),
          ms,
        };
      }
    },
    async close() {
      // Every answer the proof waits for is in by now: drop the sockets rather than wait on idle ones.
      await Promise.all([agent, ...retired].map((a) => a.destroy()));
      retired = [];
    },
  };
}

export type Http = ReturnType<typeof createHttp>;

export interface Load {
  /** Requests sent and not yet answered. */
  inFlight(): number;
  /** Stop sending; resolves with every outcome once the last answer (or timeout) is in. */
  stop(): Promise<LoadResult>;
}

export interface LoadResult {
  outcomes: Outcome[];
  /** Sends skipped because `maxInFlight` requests were already waiting (the load is bounded). */
  skipped: number;
  seconds: number;
}

/**
 * An open-loop load at `rate` requests per second (sent in 10 ms slices), at most `maxInFlight` at once,
 * until `stop()` or `durationMs`. `send(i)` makes request number i.
 */
export function startLoad(options: {
  rate: number;
  maxInFlight: number;
  durationMs?: number;
  send: (i: number) => Promise<Outcome>;
}): Load {
  const outcomes: Outcome[] = [];
  const pending = new Set<Promise<void>>();
  let skipped = 0;
  let sent = 0;
  let stopped = false;
  const started = performance.now();
  const loop = (async () => {
    while (!stopped) {
      const elapsed = performance.now() - started;
      if (options.durationMs !== undefined && elapsed >= options.durationMs) break;
      const due = Math.floor((elapsed / 1000) * options.rate) + 1;
      while (sent < due) {
        const i = sent++;
        if (pending.size >= options.maxInFlight) {
          skipped++;
          continue;
        }
        const p = options.send(i).then((outcome) => {
          outcomes.push(outcome);
          pending.delete(p);
        });
        pending.add(p);
      }
      await sleep(10);
    }
  })();
  return {
    inFlight: () => pending.size,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...pending]);
      return { outcomes, skipped, seconds: (performance.now() - started) / 1000 };
    },
  };
}

/** Send `count` requests, `concurrency` at a time (a closed loop: every request is sent). */
export async function runAll(
  count: number,
  concurrency: number,
  send: (i: number) => Promise<Outcome>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) outcomes.push(await send(next++));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

/** Counts by status (`error` / `timeout` for the rest), e.g. `{ "200": 812, "429": 40 }`. */
export function statusCounts(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.kind === 'answer' ? String(o.status) : o.timedOut ? 'timeout' : o.error;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** The q-quantile (0..1) of the latencies, in ms. */
export function latency(outcomes: readonly Outcome[], q: number): number {
  const sorted = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

export function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');
}
