import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import type { Settings } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { type Actor, auditedBy, requireInstitution } from './access.ts';

/** Institution setting (`settings` key) for abuse auto-suspension (DESIGN.md §3 defaults). */
export const ABUSE_SETTING = 'developers.abuse';

export interface AbuseSettings {
  /** Suspend a key after MORE than this many refused (401/403/404) answers within the window. */
  maxRefusals: number;
  /** Suspend a key after MORE than this many rate-limited (429) answers within the window: a client that
   * ignores `Retry-After` and keeps sending far above its plan. */
  maxRateLimited: number;
  windowSeconds: number;
}

export const DEFAULT_ABUSE: AbuseSettings = { maxRefusals: 200, maxRateLimited: 6000, windowSeconds: 60 };

const FIELDS = ['maxRefusals', 'maxRateLimited', 'windowSeconds'] as const;
const isPositiveInteger = (value: unknown): value is number =>
  Number.isSafeInteger(value) && Number(value) > 0;

/** A stored value with every missing or unusable field replaced by its default. */
export function normalizeAbuse(value: Partial<Record<keyof AbuseSettings, unknown>>): AbuseSettings {
  const out = { ...DEFAULT_ABUSE };
  for (const field of FIELDS) {
    const given = value[field];
    if (isPositiveInteger(given)) out[field] = given;
  }
  return out;
}

/** The abuse thresholds as an institution setting: every process follows a change within a poll interval. */
export function createAbuseSettings(deps: { db: Kysely<Database>; settings: Settings; audit: AuditLog }) {
  const { db, settings, audit } = deps;
  const get = async () =>
    normalizeAbuse(await settings.get<Partial<AbuseSettings>>(ABUSE_SETTING, DEFAULT_ABUSE));

  return {
    get,

    /** Change some thresholds (institution); audited with the setting in one transaction. */
    async set(patch: Partial<AbuseSettings>, actor: Actor): Promise<AbuseSettings> {
      requireInstitution(actor, 'change the abuse thresholds');
      const invalid = FIELDS.filter((f) => patch[f] !== undefined && !isPositiveInteger(patch[f]));
      if (invalid.length > 0) {
        throw new AppError('badRequest', {
          detail: 'Abuse thresholds are positive integers.',
          errors: invalid.map((name) => ({
            in: 'body' as const,
            name,
            message: 'must be a positive integer',
          })),
        });
      }
      const before = await get();
      const after = normalizeAbuse({ ...before, ...patch });
      await db.transaction().execute(async (trx) => {
        await settings.set(ABUSE_SETTING, after, trx);
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'setting.changed',
            target: { type: 'setting', id: ABUSE_SETTING },
            before,
            after,
          },
          trx,
        );
      });
      return after;
    },
  };
}
