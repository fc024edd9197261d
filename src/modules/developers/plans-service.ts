import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { ChangeFeed } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { type Actor, auditedBy, cliActor, requireInstitution } from './access.ts';
import type { DevelopersKeyVerifier } from './key-verifier.ts';
import { TOPICS } from './key-verifier.ts';
import type { RatePlanRecord } from './model.ts';
import { plansRepository } from './plans-repository.ts';

const PLAN_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** A rate plan as `set` takes it: the id is kept for an existing name, new otherwise. */
export type RatePlanInput = Omit<RatePlanRecord, 'id'>;

function validatePlan(plan: RatePlanInput): void {
  const errors = [
    ...(PLAN_NAME.test(plan.name)
      ? []
      : [{ name: 'name', message: 'must be a name of letters, digits, _ or -' }]),
    ...(['perSecond', 'burst', 'perDay'] as const)
      .filter((field) => !Number.isSafeInteger(plan[field]) || plan[field] <= 0)
      .map((name) => ({ name, message: 'must be a positive integer' })),
  ].map((issue) => ({ in: 'body' as const, ...issue }));
  if (errors.length > 0) throw new AppError('badRequest', { detail: 'The rate plan is not valid.', errors });
}

/**
 * Rate plans (per second, burst, per day; abuse exemption): the institution creates and changes them,
 * every process picks a change up through the change feed (the key verifier reloads plan limits).
 */
export function createPlans(deps: {
  db: Kysely<Database>;
  clock: Clock;
  audit: AuditLog;
  changes: ChangeFeed;
  verifier: DevelopersKeyVerifier;
}) {
  const { db, clock, audit, changes, verifier } = deps;
  let byId: Map<string, RatePlanRecord> | undefined;
  changes.subscribe(TOPICS.ratePlan, () => {
    byId = undefined;
  });
  changes.onResync(() => {
    byId = undefined;
  });

  return {
    /** Every plan, by name. */
    list(): Promise<RatePlanRecord[]> {
      return plansRepository.list(db);
    },

    findByName(name: string): Promise<RatePlanRecord | undefined> {
      return plansRepository.findByName(db, name);
    },

    /** A plan by id, from a cache the change feed empties (application views name their plan). */
    async byId(id: string): Promise<RatePlanRecord | undefined> {
      if (!byId?.has(id)) byId = new Map((await plansRepository.list(db)).map((p) => [p.id, p]));
      return byId.get(id);
    },

    /** Create or change a rate plan (institution); running gateways pick it up through the change feed. */
    async set(plan: RatePlanInput, actor: Actor = cliActor): Promise<RatePlanRecord> {
      requireInstitution(actor, 'change rate plans');
      validatePlan(plan);
      const existing = await plansRepository.findByName(db, plan.name);
      const record: RatePlanRecord = {
        id: existing?.id ?? newId('plan'),
        name: plan.name,
        perSecond: plan.perSecond,
        burst: plan.burst,
        perDay: plan.perDay,
        abuseExempt: plan.abuseExempt,
      };
      await db.transaction().execute(async (trx) => {
        await plansRepository.upsert(trx, record, isoAt(clock.now()));
        await audit.record(
          {
            ...auditedBy(actor),
            action: existing ? 'ratePlan.updated' : 'ratePlan.created',
            target: { type: 'ratePlan', id: record.id },
            before: existing,
            after: record,
          },
          trx,
        );
        await changes.publish(TOPICS.ratePlan, record.id, trx);
      });
      byId = undefined;
      verifier.invalidateAll();
      return record;
    },
  };
}

export type Plans = ReturnType<typeof createPlans>;
