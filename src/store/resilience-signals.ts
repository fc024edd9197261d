/** Why a request was answered 503 `serviceUnavailable` (DESIGN.md §5.2). */
export type UnavailableCause = 'changeLogStale' | 'store' | 'redis';

export interface ResilienceListener {
  /** A request answered 503 because of `cause`. */
  serviceUnavailable?(cause: UnavailableCause): void;
  /** Age (ms) of the change log's last successful read, reported on each read and each status query. */
  changeLogLag?(ms: number): void;
}

/**
 * The hook for metrics (DESIGN.md §5.5: `strongroom_change_log_lag_seconds`, 503s by cause): the code
 * that answers 503 or reads the change log reports here; a metrics module subscribes with `listen`.
 * Counts are kept too, so tests and diagnostics can read them without a listener.
 */
export function createResilienceSignals() {
  const listeners = new Set<ResilienceListener>();
  const unavailable: Record<UnavailableCause, number> = { changeLogStale: 0, store: 0, redis: 0 };
  let lagMs = 0;
  return {
    serviceUnavailable(cause: UnavailableCause): void {
      unavailable[cause]++;
      for (const listener of listeners) listener.serviceUnavailable?.(cause);
    },
    changeLogLag(ms: number): void {
      lagMs = ms;
      for (const listener of listeners) listener.changeLogLag?.(ms);
    },
    /** Subscribe; returns an unsubscribe function. */
    listen(listener: ResilienceListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** 503s answered so far, by cause, and the last reported change-log lag. */
    snapshot(): { unavailable: Readonly<Record<UnavailableCause, number>>; changeLogLagMs: number } {
      return { unavailable: { ...unavailable }, changeLogLagMs: lagMs };
    },
  };
}

export type ResilienceSignals = ReturnType<typeof createResilienceSignals>;
