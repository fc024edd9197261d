import type { Store } from '../db/index.ts';
import { withDeadline } from '../lib/deadline.ts';
import type { ChangeFeed } from './change-feed.ts';
import type { SharedState } from './shared-state.ts';

export type ReadinessStatus = 'ready' | 'degraded' | 'unavailable';

export interface Readiness {
  status: ReadinessStatus;
  checks: {
    store: 'up' | 'down';
    changeLog: 'fresh' | 'stale';
    redis: 'up' | 'down' | 'notConfigured';
  };
}

/** Each dependency's probe gets this long, so the whole answer stays within DESIGN.md §5.2's 1 s. */
const PROBE_MS = 400;

/**
 * `/health/ready` (DESIGN.md §5.2): `unavailable` (503) when the store does not answer or the change log
 * is stale — this process cannot decide requests; `degraded` (200) when only Redis is down — rate limits
 * run on per-instance fallbacks; `ready` otherwise. Probes run in parallel, each with a deadline.
 */
export function createReadiness(deps: { store: Store; changes: ChangeFeed; shared: SharedState }) {
  const probe = (work: () => Promise<boolean>) =>
    withDeadline(work(), PROBE_MS, 'readiness probe').catch(() => false);
  return async function check(): Promise<Readiness> {
    const [storeUp, redisUp] = await Promise.all([
      probe(() => deps.store.ping()),
      deps.shared.kind === 'redis' ? probe(() => deps.shared.ping()) : Promise.resolve(undefined),
    ]);
    const fresh = deps.changes.status().fresh;
    const checks: Readiness['checks'] = {
      store: storeUp ? 'up' : 'down',
      changeLog: fresh ? 'fresh' : 'stale',
      redis: redisUp === undefined ? 'notConfigured' : redisUp ? 'up' : 'down',
    };
    const status: ReadinessStatus =
      !storeUp || !fresh ? 'unavailable' : checks.redis === 'down' ? 'degraded' : 'ready';
    return { status, checks };
  };
}
