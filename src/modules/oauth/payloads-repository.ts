import type { Insertable, Kysely } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import type { OidcPayloadsTable } from '../../db/tables/oauth.ts';

export type PayloadRow = Insertable<OidcPayloadsTable>;
type LookupColumn = 'id' | 'uid' | 'user_code';

/**
 * SQL of `oidc_payloads`: oidc-provider's artifacts (sessions, interactions, grants, codes, refresh
 * tokens), one row per (model, id), with the grant, account and client they belong to as indexed columns.
 */
export function createPayloadsRepository(db: Kysely<Database>) {
  return {
    async upsert(row: PayloadRow, executor: Executor = db): Promise<void> {
      const { model: _model, id: _id, consumed_at: _consumed, ...update } = row;
      await executor
        .insertInto('oidc_payloads')
        .values(row)
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(update))
        .execute();
    },

    async findBy(model: string, column: LookupColumn, value: string, executor: Executor = db) {
      return executor
        .selectFrom('oidc_payloads')
        .select(['payload_json', 'expires_at', 'consumed_at'])
        .where('model', '=', model)
        .where(column, '=', value)
        .executeTakeFirst();
    },

    /** Mark consumed unless it already is; true when this call consumed it (atomic). */
    async consume(model: string, id: string, at: number, executor: Executor = db): Promise<boolean> {
      const result = await executor
        .updateTable('oidc_payloads')
        .set({ consumed_at: at })
        .where('model', '=', model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async grantIdOf(model: string, id: string, executor: Executor = db): Promise<string | null> {
      const row = await executor
        .selectFrom('oidc_payloads')
        .select('grant_id')
        .where('model', '=', model)
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.grant_id ?? null;
    },

    async delete(model: string, id: string, executor: Executor = db): Promise<void> {
      await executor.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute();
    },

    async deleteModelOfGrant(model: string, grantId: string, executor: Executor = db): Promise<void> {
      await executor
        .deleteFrom('oidc_payloads')
        .where('model', '=', model)
        .where('grant_id', '=', grantId)
        .execute();
    },

    /** Every artifact of a grant (the grant itself, its codes, refresh tokens…). */
    async deleteGrant(grantId: string, executor: Executor = db): Promise<void> {
      await executor
        .deleteFrom('oidc_payloads')
        .where((eb) =>
          eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]),
        )
        .execute();
    },

    /** Ids of the grants of an account (user) or client, found from the grants and their artifacts. */
    async grantIdsWhere(
      column: 'account_id' | 'client_id',
      value: string,
      executor: Executor = db,
    ): Promise<string[]> {
      const rows = await executor
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

    async deleteSessionsOf(accountId: string, executor: Executor = db): Promise<void> {
      await executor
        .deleteFrom('oidc_payloads')
        .where('model', '=', 'Session')
        .where('account_id', '=', accountId)
        .execute();
    },

    async listGrantsOf(accountId: string, executor: Executor = db) {
      return executor
        .selectFrom('oidc_payloads')
        .select(['id', 'payload_json', 'expires_at'])
        .where('model', '=', 'Grant')
        .where('account_id', '=', accountId)
        .execute();
    },
  };
}
