import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import type { Database } from '../../db/index.ts';
import { type Clock, isoAt, parseIso } from '../../lib/clock.ts';
import { sha256Hex } from '../../lib/hash.ts';
import { newId } from '../../lib/ids.ts';
import type { Sealer } from '../../lib/sealer.ts';
import type { AuditLog } from '../audit/index.ts';
import { SYSTEM_ACTOR } from './identity-model.ts';
import { identityRepository as repository } from './identity-repository.ts';

const TOTP_PERIOD = 30;
const RECOVERY_CODES = 10;

/** Second-factor brute-force limits (DESIGN.md §5.1): per account, across interactions and addresses. */
export const MFA_LIMITS = {
  failures: 5,
  windowSeconds: 15 * 60,
  lockSeconds: 15 * 60,
} as const;

/** The answer to a second-factor attempt. */
export type OtpAttempt =
  | { ok: true }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };

function hashRecoveryCode(code: string): string {
  return sha256Hex(code.replace(/-/g, '').toLowerCase());
}

function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODES }, () => {
    const hex = randomBytes(10).toString('hex');
    return `${hex.slice(0, 5)}-${hex.slice(5, 10)}-${hex.slice(10, 15)}-${hex.slice(15, 20)}`;
  });
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

/**
 * TOTP second factor with recovery codes: the secret is sealed with the KEK at rest, a code is accepted
 * once per 30-second step (atomically, across processes), a recovery code once.
 */
export function createMfa(deps: {
  db: Kysely<Database>;
  clock: Clock;
  audit: AuditLog;
  sealer: Sealer;
  /** The issuer name authenticator apps show. */
  institutionName: string;
}) {
  const { db, clock, audit, sealer } = deps;
  const epoch = () => Math.floor(clock.now() / 1000);

  const retryAfter = (until: string) => Math.max(1, Math.ceil((parseIso(until) - clock.now()) / 1000));

  async function lock(userId: string, attempts: number): Promise<string> {
    const until = isoAt(clock.now() + MFA_LIMITS.lockSeconds * 1000);
    await db.transaction().execute(async (trx) => {
      await repository.lockMfa(trx, userId, until);
      await repository.clearMfaFailures(trx, userId);
      await audit.record(
        {
          actor: SYSTEM_ACTOR,
          action: 'user.mfaLocked',
          target: { type: 'user', id: userId },
          reason: `${attempts} wrong second-factor codes`,
        },
        trx,
      );
    });
    return until;
  }

  const service = {
    /**
     * A second-factor attempt at sign-in, under the account's brute-force limit: 5 wrong codes within
     * 15 minutes — whatever the interaction, session or address — lock the step for 15 minutes; a
     * correct code resets the count. Every attempt is recorded *before* the code is checked, so that
     * concurrent guesses cannot slip past the limit: at most 5 codes are ever checked per window.
     */
    async attemptOtp(userId: string, code: string): Promise<OtpAttempt> {
      const lockedUntil = await repository.mfaLockedUntil(db, userId);
      if (lockedUntil && lockedUntil > isoAt(clock.now()))
        return { ok: false, reason: 'locked', retryAfterSeconds: retryAfter(lockedUntil) };
      await repository.recordMfaFailure(db, newId('mfl'), userId, isoAt(clock.now()));
      const since = isoAt(clock.now() - MFA_LIMITS.windowSeconds * 1000);
      const attempts = await repository.countMfaFailuresSince(db, userId, since);
      if (attempts <= MFA_LIMITS.failures && (await service.verifyOtp(userId, code))) {
        await repository.clearMfaFailures(db, userId);
        if (lockedUntil) await repository.unlockMfa(db, userId);
        return { ok: true };
      }
      if (attempts < MFA_LIMITS.failures) return { ok: false, reason: 'invalid' };
      const until = await lock(userId, attempts);
      return { ok: false, reason: 'locked', retryAfterSeconds: retryAfter(until) };
    },

    /** A TOTP code (once per 30-second step) or an unused recovery code. */
    async verifyOtp(userId: string, code: string): Promise<boolean> {
      const row = await repository.findUser(db, userId);
      if (!row?.totp_secret_sealed) return false;
      const trimmed = code.replace(/\s+/g, '');
      if (/^\d{6}$/.test(trimmed)) {
        const secret = sealer.open(row.totp_secret_sealed, `totp:${row.id}`);
        const result = await verifyTotp({
          secret,
          token: trimmed,
          epoch: epoch(),
          epochTolerance: TOTP_PERIOD,
          afterTimeStep: row.totp_last_step === null ? undefined : Number(row.totp_last_step),
        }).catch(() => ({ valid: false as const }));
        if (!result.valid) return false;
        return repository.claimTotpStep(db, row.id, (result as { timeStep: number }).timeStep);
      }
      if (/^[0-9a-f]{5}(-?[0-9a-f]{5}){3}$/i.test(trimmed)) {
        return db.transaction().execute(async (trx) => {
          const used = await repository.useRecoveryCode(
            trx,
            row.id,
            hashRecoveryCode(trimmed),
            isoAt(clock.now()),
          );
          if (used) {
            await audit.record(
              {
                actor: { type: 'user', id: row.id },
                action: 'user.recoveryCodeUsed',
                target: { type: 'user', id: row.id },
              },
              trx,
            );
          }
          return used;
        });
      }
      return false;
    },

    /** A new TOTP secret (not yet active: confirm with `confirmTotp`). */
    newTotpEnrolment(username: string): { secret: string; uri: string } {
      const secret = generateSecret();
      return { secret, uri: generateURI({ issuer: deps.institutionName, label: username, secret }) };
    },

    /** Store a TOTP secret after the user proved they have it; returns the recovery codes (shown once). */
    async confirmTotp(userId: string, secret: string, code: string): Promise<string[] | undefined> {
      const result = await verifyTotp({
        secret,
        token: code.replace(/\s+/g, ''),
        epoch: epoch(),
        epochTolerance: TOTP_PERIOD,
      }).catch(() => ({ valid: false as const }));
      if (!result.valid) return undefined;
      return service.setTotpSecret(userId, secret, (result as { timeStep: number }).timeStep);
    },

    /** Set the TOTP secret (sealed at rest) and fresh recovery codes; returns the codes. */
    async setTotpSecret(userId: string, secret: string, lastStep: number | null = null): Promise<string[]> {
      const { codes, hashes } = newRecoveryCodes();
      await db.transaction().execute(async (trx) => {
        await repository.updateUser(trx, userId, {
          totp_secret_sealed: sealer.seal(secret, `totp:${userId}`),
          totp_last_step: lastStep,
          updated_at: isoAt(clock.now()),
        });
        await repository.replaceRecoveryCodes(trx, userId, hashes);
        await audit.record(
          { actor: SYSTEM_ACTOR, action: 'user.mfaEnrolled', target: { type: 'user', id: userId } },
          trx,
        );
      });
      return codes;
    },
  };
  return service;
}
