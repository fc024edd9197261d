import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import type { Settings } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { type Actor, auditedBy, requireInstitution } from './access.ts';

/** Institution setting (`settings` key) for abuse detection (DESIGN.md §5.1). */
export const ABUSE_SETTING = 'developers.abuse';

/** The thresholds of abuse detection (DESIGN.md §5.1); every count is of *authenticated* refusals. */
export interface AbuseSettings {
  /** Revoke a grant after MORE than this many authenticated refusals of its tokens within 60 s. */
  grantRefusalsPerMinute: number;
  /** Suspend a confidential client's key once abuse revoked grants of this many distinct users … */
  revokedGrantsToSuspend: number;
  /** … within this many minutes. */
  revokedGrantsWindowMinutes: number;
  /** Suspend a confidential client's key after MORE than this many refusals in 60 s without user tokens. */
  keyRefusalsPerMinute: number;
  /** Rate plans (by name) exempt from abuse detection. */
  exemptPlans: string[];
}

export const DEFAULT_ABUSE: AbuseSettings = {
  grantRefusalsPerMinute: 50,
  revokedGrantsToSuspend: 3,
  revokedGrantsWindowMinutes: 10,
  keyRefusalsPerMinute: 200,
  exemptPlans: ['loadTest'],
};

export const ABUSE_COUNTS = [
  'grantRefusalsPerMinute',
  'revokedGrantsToSuspend',
  'revokedGrantsWindowMinutes',
  'keyRefusalsPerMinute',
] as const;
const isPositiveInteger = (value: unknown): value is number =>
  Number.isSafeInteger(value) && Number(value) > 0;
const isPlanList = (value: unknown): value is string[] =>
  Array.isArray(value) &&
  value.length <= 50 &&
  value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 64);

/** A stored value with every missing or unusable field replaced by its default. */
export function normalizeAbuse(value: Partial<Record<keyof AbuseSettings, unknown>>): AbuseSettings {
  const out: AbuseSettings = { ...DEFAULT_ABUSE, exemptPlans: [...DEFAULT_ABUSE.exemptPlans] };
  for (const field of ABUSE_COUNTS) {
    const given = value[field];
    if (isPositiveInteger(given)) out[field] = given;
  }
  if (isPlanList(value.exemptPlans)) out.exemptPlans = [...new Set(value.exemptPlans)];
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
      const invalid: { name: string; message: string }[] = ABUSE_COUNTS.filter(
        (f) => patch[f] !== undefined && !isPositiveInteger(patch[f]),
      ).map((name) => ({ name, message: 'must be a positive integer' }));
      if (patch.exemptPlans !== undefined && !isPlanList(patch.exemptPlans)) {
        invalid.push({ name: 'exemptPlans', message: 'must be a list of rate plan names' });
      }
      if (invalid.length > 0) {
        throw new AppError('badRequest', {
          detail: 'Abuse thresholds are positive integers; exemptPlans a list of plan names.',
          errors: invalid.map((issue) => ({ in: 'body' as const, ...issue })),
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
