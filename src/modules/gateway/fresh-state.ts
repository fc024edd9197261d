import type { ChangeFeed, ResilienceSignals } from '../../store/index.ts';
import type { Refusal } from './refusals.ts';
import type { GatewayState } from './request-state.ts';

interface Unavailable {
  reason: Refusal;
  why: string;
  headers: Record<string, string>;
}

const STALE: Unavailable = Object.freeze({
  reason: 'stateUnavailable',
  why: 'changeLogStale',
  headers: { 'retry-after': '1' },
}) as Unavailable;

/**
 * DESIGN.md §5.2: a process whose last successful change-log read is more than 750 ms old must not answer
 * from its caches — a key or grant may have been revoked meanwhile. Requests that need a key, token or
 * entitlement verdict get 503 `serviceUnavailable` + `Retry-After: 1` until a read succeeds (and that read
 * has dropped every cache). The fresh case is one monotonic-clock comparison, synchronous on the hot path.
 */
export function createFreshStateCheck(deps: { changes: ChangeFeed; signals?: ResilienceSignals }) {
  const refuse = () => {
    deps.signals?.serviceUnavailable('changeLogStale');
    return { ...STALE, headers: { ...STALE.headers } };
  };
  return function requireFreshState(run: {
    state: GatewayState;
  }): Unavailable | undefined | Promise<Unavailable | undefined> {
    if (run.state.op.security.length === 0 || deps.changes.isFresh()) return undefined;
    return deps.changes.ensureFresh().then((fresh) => (fresh ? undefined : refuse()));
  };
}
