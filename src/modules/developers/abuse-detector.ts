import type { Logger } from '../../http/logger.ts';
import type { Clock } from '../../lib/clock.ts';
import type { ChangeFeed, Settings, SharedState } from '../../store/index.ts';
import type { UsageEvent } from '../gateway/contract.ts';
import { ABUSE_SETTING, type AbuseSettings, DEFAULT_ABUSE, normalizeAbuse } from './abuse-settings.ts';

/** What is counted: a grant's refusals (user tokens), or a key's refusals without user tokens. */
export type AbuseScope = 'grant' | 'key';

const WINDOW_MS = 60_000;

/** The shared counter of one grant's or key's authenticated refusals in one fixed 60-second window. */
export function abuseCounterKey(scope: AbuseScope, id: string, at: number): string {
  return `abuse:${scope}:${id}:${Math.floor(at / WINDOW_MS)}`;
}

/** Reasons of 403/422 answers that only a caller with a valid token can get (rows 6, 7, 8's body checks). */
const AUTHENTICATED_REASONS = ['wrongClient', 'insufficientScope', 'notEntitled'];

/**
 * Only *authenticated* refusals count (DESIGN.md §5.1): the request carried a valid access token and was
 * still refused — 403 wrong client or scope, 404 not entitled (or no such resource: the same answer),
 * 422 invalid account. No or bad token (rows 1, 2, 4, 5) is noise anyone holding a public key can make;
 * it feeds only the per-address throttle. 429s never count.
 */
export function isAuthenticatedRefusal(event: UsageEvent): boolean {
  if (!event.principal) return false;
  if (event.status === 404) return true;
  if (event.status !== 403 && event.status !== 422) return false;
  const reason = event.reason ?? '';
  return AUTHENTICATED_REASONS.some((prefix) => reason.startsWith(prefix));
}

/** What the detector does once a threshold is passed (`abuse-actions.ts`); called at most once at a time per id. */
export interface AbuseActions {
  /** More than `grantRefusalsPerMinute` refusals of one user's grant: revoke it. */
  grantAbused(event: UsageEvent, count: number, settings: AbuseSettings): Promise<void>;
  /** More than `keyRefusalsPerMinute` refusals of a key without user tokens. */
  keyAbused(event: UsageEvent, count: number, settings: AbuseSettings): Promise<void>;
}

/**
 * Abuse detection over the gateway's metered answers. `observe` is synchronous and cheap (most answers
 * return at the first test): authenticated refusals are counted per grant (user tokens) or per key
 * (client-credentials tokens), in an exact local sliding window and in a shared fixed-window counter
 * (Redis when scaled out) so that processes add up; a fixed window never holds more than the sliding
 * one, so the shared count cannot act early.
 */
export function createAbuseDetector(deps: {
  clock: Clock;
  logger: Logger;
  settings: Settings;
  changes: ChangeFeed;
  shared?: Pick<SharedState, 'increment'>;
  actions: AbuseActions;
}) {
  const { clock, logger, settings, changes, actions } = deps;
  let abuse: AbuseSettings = DEFAULT_ABUSE;
  const windows = new Map<string, number[]>();
  const acting = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;

  const loadSettings = async () => {
    abuse = normalizeAbuse(await settings.get<Partial<AbuseSettings>>(ABUSE_SETTING, DEFAULT_ABUSE));
  };
  const unsubscribe = changes.subscribe('setting', (change) => {
    if (change.key === ABUSE_SETTING) void loadSettings().catch(() => {});
  });

  /** Adds one refusal to an id's sliding window; returns how many the window now holds. */
  function countInWindow(id: string, at: number): number {
    let times = windows.get(id);
    if (!times) {
      times = [];
      windows.set(id, times);
    }
    times.push(at);
    const windowStart = at - WINDOW_MS;
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= windowStart) drop++;
    if (drop > 0) times.splice(0, drop);
    return times.length;
  }

  function act(scope: AbuseScope, id: string, event: UsageEvent, count: number) {
    const slot = `${scope}:${id}`;
    if (acting.has(slot)) return;
    acting.add(slot);
    windows.delete(slot);
    const action = scope === 'grant' ? actions.grantAbused : actions.keyAbused;
    const running = action(event, count, abuse)
      .catch((error) => logger.error({ err: error, apiKeyId: event.keyId, scope }, 'abuse action failed'))
      .finally(() => {
        acting.delete(slot);
        inFlight.delete(running);
      });
    inFlight.add(running);
  }

  function count(scope: AbuseScope, id: string, event: UsageEvent, max: number) {
    const slot = `${scope}:${id}`;
    if (acting.has(slot)) return;
    const local = countInWindow(slot, event.at);
    if (local > max) return act(scope, id, event, local);
    if (!deps.shared) return;
    deps.shared
      .increment(abuseCounterKey(scope, id, event.at), WINDOW_MS * 2)
      .then((total) => {
        if (total > max) act(scope, id, event, total);
      })
      .catch((error) => logger.warn({ err: error }, 'shared abuse counter unavailable'));
  }

  return {
    /** One metered answer (the usage recorder passes every one). */
    observe(event: UsageEvent): void {
      if (event.abuseExempt || !isAuthenticatedRefusal(event)) return;
      const principal = event.principal;
      if (!principal) return;
      if (principal.userId) {
        // A user's token: its grant answers for it (row 6 too: the token's grant, never the key).
        if (principal.grantId) count('grant', principal.grantId, event, abuse.grantRefusalsPerMinute);
        return;
      }
      // A client's own token (client credentials): the key answers for it — unless it is another
      // client's token (row 6), which says nothing about this key.
      if (event.reason?.startsWith('wrongClient')) return;
      count('key', event.keyId, event, abuse.keyRefusalsPerMinute);
    },

    /** Resolves once every action started so far has finished (tests, shutdown). */
    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },

    /** Re-read the thresholds now (the change feed does it within a poll interval anyway). */
    reloadSettings: loadSettings,
    settings: () => abuse,

    start(): void {
      void loadSettings().catch((error) => logger.warn({ err: error }, 'abuse settings not loaded'));
      if (timer) return;
      timer = setInterval(() => {
        // Event times are domain time (the gateway's clock), so the sweep compares with it too.
        const now = clock.now();
        for (const [slot, times] of windows) {
          if (now - (times[times.length - 1] ?? 0) > WINDOW_MS * 2) windows.delete(slot);
        }
      }, 5_000);
      timer.unref();
    },

    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
      unsubscribe();
    },
  };
}

export type AbuseDetector = ReturnType<typeof createAbuseDetector>;
