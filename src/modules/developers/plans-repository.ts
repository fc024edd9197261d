import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { RatePlansTable } from '../../db/tables/developers.ts';
import { fromFlag, toFlag } from './columns.ts';
import type { RatePlanRecord } from './model.ts';

export function toPlan(row: Omit<Selectable<RatePlansTable>, 'created_at'>): RatePlanRecord {
  return {
    id: row.id,
    name: row.name,
    perSecond: Number(row.per_second),
    burst: Number(row.burst),
    perDay: Number(row.per_day),
    abuseExempt: fromFlag(row.is_abuse_exempt),
  };
}

/** SQL of rate plans. */
export const plansRepository = {
  async list(ex: Executor): Promise<RatePlanRecord[]> {
    return (await ex.selectFrom('rate_plans').selectAll().orderBy('name').execute()).map(toPlan);
  },

  async findByName(ex: Executor, name: string): Promise<RatePlanRecord | undefined> {
    const row = await ex.selectFrom('rate_plans').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toPlan(row);
  },

  /** Insert the plan, or change the limits of the plan with its id. */
  async upsert(ex: Executor, plan: RatePlanRecord, at: string): Promise<void> {
    const values = {
      per_second: plan.perSecond,
      burst: plan.burst,
      per_day: plan.perDay,
      is_abuse_exempt: toFlag(plan.abuseExempt),
    };
    await ex
      .insertInto('rate_plans')
      .values({ id: plan.id, name: plan.name, created_at: at, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  },
};
