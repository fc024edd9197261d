import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import type { Logger } from '../../http/logger.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { SharedState } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { type AuthenticationResult, SYSTEM_ACTOR } from './identity-model.ts';
import { identityRepository as repository, type UserRow } from './identity-repository.ts';
import { hashPassword, needsRehash, timingDummyHash, verifyPassword } from './passwords.ts';
import type { Users } from './users-service.ts';

/** Sign-in thresholds (DESIGN.md §3). */
export const SIGN_IN_LIMITS = {
  accountFailures: 10,
  accountWindowSeconds: 15 * 60,
  lockSeconds: 15 * 60,
  addressFailuresPerMinute: 100,
} as const;

/**
 * Password sign-in with lockout and throttling. Unknown users, wrong passwords and locked accounts take
 * the same time and (to the page) look the same; failures count per account (lockout after 10 in 15
 * minutes) and per source address (throttle after 100 a minute).
 */
export function createSignIn(deps: {
  db: Kysely<Database>;
  clock: Clock;
  audit: AuditLog;
  shared: SharedState;
  logger: Logger;
  users: Users;
}) {
  const { db, clock, audit, shared, logger, users } = deps;
  const addressLimiter = shared.rateLimiter({
    keyPrefix: 'signin-address',
    points: SIGN_IN_LIMITS.addressFailuresPerMinute,
    duration: 60,
  });
  const unknownLimiter = shared.rateLimiter({
    keyPrefix: 'signin-unknown-user',
    points: SIGN_IN_LIMITS.accountFailures,
    duration: SIGN_IN_LIMITS.accountWindowSeconds,
  });
  const now = () => isoAt(clock.now());

  const failed = async (address: string, locked: boolean): Promise<AuthenticationResult> => {
    await addressLimiter.consume(address).catch(() => {});
    // A locked account (real or, for an unknown name, pretended) says when to retry: the whole lock
    // period, so the answer reveals nothing about when the lock began.
    return locked
      ? { ok: false, reason: 'locked', retryAfterSeconds: SIGN_IN_LIMITS.lockSeconds }
      : { ok: false, reason: 'invalid' };
  };

  /** Count a wrong password; lock the account when it reaches the threshold. True when now locked. */
  async function countFailure(row: UserRow): Promise<boolean> {
    const at = now();
    await repository.recordFailure(db, newId('lfl'), row.id, at);
    const since = isoAt(clock.now() - SIGN_IN_LIMITS.accountWindowSeconds * 1000);
    const failures = await repository.countFailuresSince(db, row.id, since);
    if (failures < SIGN_IN_LIMITS.accountFailures) {
      logger.info({ userId: row.id, event: 'signin.failed' }, 'failed sign-in');
      return false;
    }
    await db.transaction().execute(async (trx) => {
      const lockedUntil = isoAt(clock.now() + SIGN_IN_LIMITS.lockSeconds * 1000);
      await repository.updateUser(trx, row.id, {
        status: 'locked',
        locked_until: lockedUntil,
        updated_at: at,
      });
      await repository.clearFailures(trx, row.id);
      await audit.record(
        {
          actor: SYSTEM_ACTOR,
          action: 'user.locked',
          target: { type: 'user', id: row.id },
          reason: `${failures} failed sign-ins`,
        },
        trx,
      );
    });
    logger.warn({ userId: row.id, event: 'user.locked' }, 'account locked after failed sign-ins');
    return true;
  }

  return {
    /**
     * The per-address throttle for other steps of signing in (a wrong second factor counts like a wrong
     * password): seconds to wait while the address is throttled, else undefined.
     */
    async addressRetryAfter(address: string): Promise<number | undefined> {
      const state = await addressLimiter.get(address).catch(() => null);
      return state && state.consumedPoints >= SIGN_IN_LIMITS.addressFailuresPerMinute
        ? Math.max(1, Math.ceil(state.msBeforeNext / 1000))
        : undefined;
    },
    async countAddressFailure(address: string): Promise<void> {
      await addressLimiter.consume(address).catch(() => {});
    },

    /** Check a username and password from `address`. */
    async authenticate(input: {
      username: string;
      password: string;
      address: string;
    }): Promise<AuthenticationResult> {
      const username = input.username.trim().toLowerCase();
      try {
        const state = await addressLimiter.get(input.address);
        if (state && state.consumedPoints >= SIGN_IN_LIMITS.addressFailuresPerMinute)
          return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(state.msBeforeNext / 1000) };
      } catch {
        // The shared state is unavailable: fail open on the throttle, the account lockout still holds.
      }
      const row =
        username && username.length <= 64 ? await repository.findUserByUsername(db, username) : undefined;
      if (!row) {
        await verifyPassword(await timingDummyHash(), input.password);
        const counted = await unknownLimiter
          .consume(username || '-')
          .catch((r: { consumedPoints?: number }) => r);
        return failed(input.address, (counted?.consumedPoints ?? 0) >= SIGN_IN_LIMITS.accountFailures);
      }
      const passwordOk = await verifyPassword(row.password_hash, input.password);
      const lockedNow = row.status === 'locked' && row.locked_until !== null && row.locked_until > now();
      // A locked or disabled account refuses even the right password, with the same answer.
      if (lockedNow || row.status === 'disabled') return failed(input.address, lockedNow);
      if (!passwordOk) return failed(input.address, await countFailure(row));
      const patch: Partial<UserRow> = {};
      if (row.status === 'locked') Object.assign(patch, { status: 'active', locked_until: null });
      if (needsRehash(row.password_hash)) patch.password_hash = await hashPassword(input.password);
      if (Object.keys(patch).length) await repository.updateUser(db, row.id, { ...patch, updated_at: now() });
      await repository.clearFailures(db, row.id);
      const user = await users.toUser({ ...row, ...patch });
      const mfa = user.mfaRequired || user.mfaEnrolled ? (user.mfaEnrolled ? 'verify' : 'enroll') : 'none';
      return { ok: true, user, mfa };
    },
  };
}
