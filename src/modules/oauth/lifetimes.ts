import { AppError } from '../../errors/index.ts';
import type { ModuleContext } from '../module-context.ts';
import { MAX_ACCESS_TOKEN_SECONDS } from './grants-service.ts';

/** Lifetimes in seconds, set by the institution (DESIGN.md §3 defaults). */
export interface Lifetimes {
  accessToken: number;
  code: number;
  refreshTokenIdle: number;
  refreshTokenAbsolute: number;
  sessionIdle: number;
  sessionAbsolute: number;
  interaction: number;
}

const DEFAULT_LIFETIMES: Lifetimes = {
  accessToken: 300,
  code: 60,
  refreshTokenIdle: 24 * 3600,
  refreshTokenAbsolute: 30 * 86400,
  sessionIdle: 15 * 60,
  sessionAbsolute: 12 * 3600,
  interaction: 10 * 60,
};

export const LIFETIME_LIMITS: Record<keyof Lifetimes, [number, number]> = {
  accessToken: [30, MAX_ACCESS_TOKEN_SECONDS],
  code: [5, 60],
  refreshTokenIdle: [60, 400 * 86400],
  refreshTokenAbsolute: [60, 400 * 86400],
  sessionIdle: [60, 86400],
  sessionAbsolute: [60, 7 * 86400],
  interaction: [60, 3600],
};

/** Per-client overrides allowed (OAuthClientSpec.lifetimes). */
export type ClientLifetimes = Partial<
  Pick<Lifetimes, 'accessToken' | 'code' | 'refreshTokenIdle' | 'refreshTokenAbsolute'>
>;

const SETTING = 'oauth.lifetimes';

/**
 * The global lifetimes, held in memory because oidc-provider asks for them synchronously; reloaded when
 * the setting changes anywhere (the change feed), so new tokens follow within a second.
 */
export function createLifetimes(context: ModuleContext) {
  const { settings, changes } = context;
  let current: Lifetimes = { ...DEFAULT_LIFETIMES };

  const reload = async () => {
    const stored = await settings.get<Partial<Lifetimes> | null>(SETTING, null);
    current = { ...DEFAULT_LIFETIMES, ...(stored ?? {}) };
  };
  const unsubscribe = changes.subscribe('setting', (change) => {
    if (change.key === SETTING) void reload().catch(() => {});
  });
  const unsubscribeResync = changes.onResync(reload);

  return {
    load: reload,
    global(): Lifetimes {
      return current;
    },
    /** Effective lifetimes for a client: its overrides on top of the global values. */
    forClient(overrides: ClientLifetimes | undefined): Lifetimes {
      return { ...current, ...(overrides ?? {}) };
    },
    async set(patch: Partial<Lifetimes>): Promise<Lifetimes> {
      for (const [name, value] of Object.entries(patch)) {
        const limits = LIFETIME_LIMITS[name as keyof Lifetimes];
        if (!limits) throw new AppError('badRequest', { detail: `Unknown lifetime ${name}.` });
        if (!Number.isInteger(value) || (value as number) < limits[0] || (value as number) > limits[1])
          throw new AppError('badRequest', {
            detail: `${name} must be an integer between ${limits[0]} and ${limits[1]} seconds.`,
          });
      }
      await reload();
      const next = { ...current, ...patch };
      if (next.refreshTokenIdle > next.refreshTokenAbsolute)
        throw new AppError('badRequest', {
          detail: 'The idle refresh-token lifetime exceeds the absolute one.',
        });
      const stored = await settings.get<Partial<Lifetimes> | null>(SETTING, null);
      await settings.set(SETTING, { ...(stored ?? {}), ...patch });
      current = next;
      return next;
    },
    stop() {
      unsubscribe();
      unsubscribeResync();
    },
  };
}

export type LifetimesService = ReturnType<typeof createLifetimes>;
