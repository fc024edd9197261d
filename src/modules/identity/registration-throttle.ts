import type { SharedState } from '../../store/index.ts';

/** Self-registration limits (DESIGN.md §5.1): accounts *created* per address per hour. */
export const REGISTRATION_LIMITS = { accountsPerAddress: 5, windowSeconds: 60 * 60 } as const;

export type RegistrationReservation = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Counts accounts created per address. A creation is reserved before the account is made (so concurrent
 * posts cannot exceed the limit) and given back when the registration is refused (a taken username or a
 * weak password creates nothing).
 */
export function createRegistrationThrottle(deps: { shared: SharedState }) {
  const limiter = deps.shared.rateLimiter({
    keyPrefix: 'register-created',
    points: REGISTRATION_LIMITS.accountsPerAddress,
    duration: REGISTRATION_LIMITS.windowSeconds,
  });
  return {
    async reserve(address: string): Promise<RegistrationReservation> {
      try {
        await limiter.consume(address);
        return { ok: true };
      } catch (rejection) {
        if (rejection instanceof Error) throw rejection;
        const msBeforeNext = (rejection as { msBeforeNext?: number }).msBeforeNext ?? 0;
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) };
      }
    },
    async release(address: string): Promise<void> {
      await limiter.reward(address, 1).catch(() => {});
    },
  };
}

export type RegistrationThrottle = ReturnType<typeof createRegistrationThrottle>;
