import type { Insertable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { OidcPayloadsTable } from '../../db/tables/oauth.ts';

export type PayloadRow = Insertable<OidcPayloadsTable>;
type LookupColumn = 'id' | 'uid' | 'user_code';

/**
 * SQL of `oidc_payloads`: oidc-provider's artifacts (sessions, interactions, grants, codes, refresh
 * tokens), one row per (model, id), with the grant, account and client they belong to as indexed columns.
 */
export const payloadsRepository = {
  async upsert(ex: Executor, row: PayloadRow): Promise<void> {
    const { model: _model, id: _id, consumed_at: _consumed, ...update } = row;
    await ex
      .insertInto('oidc_payloads')
      .values(row)
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(update))
      .execute();
  },

  async findBy(ex: Executor, model: string, column: LookupColumn, value: string) {
    return ex
      .selectFrom('oidc_payloads')
      .select(['payload_json', 'expires_at', 'consumed_at'])
      .where('model', '=', model)
      .where(column, '=', value)
      .executeTakeFirst();
  },

  /** Mark consumed unless it already is; true when this call consumed it (atomic). */
  async consume(ex: Executor, model: string, id: string, at: number): Promise<boolean> {
    const result = await ex
      .updateTable('oidc_payloads')
      .set({ consumed_at: at })
      .where('model', '=', model)
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async grantIdOf(ex: Executor, model: string, id: string): Promise<string | null> {
    const row = await ex
      .selectFrom('oidc_payloads')
      .select('grant_id')
      .where('model', '=', model)
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.grant_id ?? null;
  },

  async delete(ex: Executor, model: string, id: string): Promise<void> {
    await ex.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute();
  },

  async deleteModelOfGrant(ex: Executor, model: string, grantId: string): Promise<void> {
    await ex.deleteFrom('oidc_payloads').where('model', '=', model).where('grant_id', '=', grantId).execute();
  },

  /** Every artifact of a grant (the grant itself, its codes, refresh tokens…). */
  async deleteGrant(ex: Executor, grantId: string): Promise<void> {
    await ex
      .deleteFrom('oidc_payloads')
      .where((eb) =>
        eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]),
      )
      .execute();
  },

  /** Ids of the grants of an account (user) or client, found from the grants and their artifacts. */
  async grantIdsWhere(ex: Executor, column: 'account_id' | 'client_id', value: string): Promise<string[]> {
    const rows = await ex
      .selectFrom('oidc_payloads')
      .select(['model', 'id', 'grant_id'])
      .where(column, '=', value)
      .where((eb) => eb.or([eb('model', '=', 'Grant'), eb('grant_id', 'is not', null)]))
      .execute();
    const ids = new Set<string>();
    for (const row of rows) {
      if (row.model === 'Grant') ids.add(row.id);
      else if (row.grant_id) ids.add(row.grant_id);
    }
    return [...ids];
  },

  async deleteSessionsOf(ex: Executor, accountId: string): Promise<void> {
    await ex
      .deleteFrom('oidc_payloads')
      .where('model', '=', 'Session')
      .where('account_id', '=', accountId)
      .execute();
  },

  async listGrantsOf(ex: Executor, accountId: string) {
    return ex
      .selectFrom('oidc_payloads')
      .select(['id', 'payload_json', 'expires_at'])
      .where('model', '=', 'Grant')
      .where('account_id', '=', accountId)
      .execute();
  },
};
