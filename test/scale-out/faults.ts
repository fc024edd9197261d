import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from './cluster.ts';
import { type Http, type Outcome, startLoad } from './load.ts';

/** One `/health/ready` answer of one instance. */
export interface ReadySample {
  instance: string;
  sentAt: number;
  answeredAt: number;
  ms: number;
  status: number | 'error';
  /** The body's `status` (`ready` | `degraded` | `unavailable`) and `checks`. */
  state: string | undefined;
  checks: Record<string, unknown> | undefined;
}

export interface FaultRun {
  /** Epoch ms when the fault began and when it was healed. */
  faultAt: number;
  healedAt: number;
  /** Load outcomes by when they were sent. */
  before: Outcome[];
  during: Outcome[];
  after: Outcome[];
  ready: ReadySample[];
  /** ms from the heal until every instance was ready again and every answer was 200; null: not within the watch. */
  recoveredMs: number | null;
}

/**
 * A load through nginx and a readiness probe on every instance, while `inject()` breaks a dependency for
 * `holdMs` and `heal()` repairs it; then both keep going until the cluster has recovered (every instance
 * `ready`, every answer 200) or `watchMs` after the heal.
 */
export async function runFault(options: {
  cluster: Cluster;
  http: Http;
  send: (i: number) => Promise<Outcome>;
  rate: number;
  inject: () => Promise<void> | void;
  heal: () => Promise<void> | void;
  holdMs: number;
  watchMs?: number;
}): Promise<FaultRun> {
  const { cluster, http } = options;
  const ready: ReadySample[] = [];
  let probing = true;
  const probes = cluster.instances.map(async (instance) => {
    while (probing) {
      const o = await http.send(`${instance.url}/health/ready`, { timeoutMs: 3000 });
      let body: { status?: string; checks?: Record<string, unknown> } = {};
      if (o.kind === 'answer') {
        try {
          body = JSON.parse(o.text) as typeof body;
        } catch {}
      }
      ready.push({
        instance: instance.name,
        sentAt: o.sentAt,
        answeredAt: o.answeredAt,
        ms: o.ms,
        status: o.kind === 'answer' ? o.status : 'error',
        state: body.status,
        checks: body.checks,
      });
      await sleep(100);
    }
  });
  const load = startLoad({ rate: options.rate, maxInFlight: 64, send: options.send });
  await sleep(1000);
  const faultAt = Date.now();
  await options.inject();
  await sleep(options.holdMs);
  const healedAt = Date.now();
  await options.heal();
  const watchUntil = performance.now() + (options.watchMs ?? 8000);
  const healthySince = () => recoveredAt(cluster, ready, [], healedAt);
  // Watch until every instance has answered `ready` for a second after the heal.
  while (performance.now() < watchUntil) {
    const since = healthySince();
    if (since !== null && Date.now() - since > 1000) break;
    await sleep(100);
  }
  const result = await load.stop();
  probing = false;
  await Promise.all(probes);
  const before = result.outcomes.filter((o) => o.sentAt < faultAt);
  const during = result.outcomes.filter((o) => o.sentAt >= faultAt && o.sentAt < healedAt);
  const after = result.outcomes.filter((o) => o.sentAt >= healedAt);
  const at = recoveredAt(cluster, ready, after, healedAt);
  return { faultAt, healedAt, before, during, after, ready, recoveredMs: at === null ? null : at - healedAt };
}

const isHealthy = (o: Outcome) => o.kind === 'answer' && o.status === 200;

/**
 * The epoch ms from which everything was healthy: the last unhealthy readiness answer or load answer
 * after the heal (or the heal itself); null when the last readiness answer of some instance is unhealthy.
 */
function recoveredAt(
  cluster: Cluster,
  ready: ReadySample[],
  after: Outcome[],
  healedAt: number,
): number | null {
  let at = healedAt;
  for (const instance of cluster.instances) {
    const samples = ready.filter((s) => s.instance === instance.name && s.sentAt >= healedAt);
    const last = samples.at(-1);
    if (last?.status !== 200 || last.state !== 'ready') return null;
    for (const s of samples) if (s.status !== 200 || s.state !== 'ready') at = Math.max(at, s.answeredAt);
  }
  for (const o of after) if (!isHealthy(o)) at = Math.max(at, o.answeredAt);
  return at;
}
