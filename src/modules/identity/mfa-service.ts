import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import type { Database } from '../../db/index.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import { sha256Hex } from '../../lib/hash.ts';
import type { Sealer } from '../../lib/sealer.ts';
import type { AuditLog } from '../audit/index.ts';
import { SYSTEM_ACTOR } from './identity-model.ts';
import { identityRepository as repository } from './identity-repository.ts';

const TOTP_PERIOD = 30;
const RECOVERY_CODES = 10;

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

  const service = {
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
