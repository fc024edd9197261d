import type { Kysely, Selectable } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import type { RevokedTokensTable } from '../../db/tables/oauth.ts';

export type DenialKind = 'grant' | 'jti';
export type DenialRow = Selectable<RevokedTokensTable>;

/** SQL of `revoked_tokens`: the denylist of revoked grants and token ids, kept until their tokens expire. */
export function createDenylistRepository(db: Kysely<Database>) {
  return {
    /** Expiry (epoch seconds) of one entry, if listed. */
    async expiryOf(kind: DenialKind, id: string, executor: Executor = db): Promise<number | undefined> {
      const row = await executor
        .selectFrom('revoked_tokens')
        .select('expires_at')
        .where('kind', '=', kind)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? Number(row.expires_at) : undefined;
    },

    /** List an entry; listing it again moves its expiry. */
    async upsert(row: DenialRow, executor: Executor = db): Promise<void> {
      await executor
        .insertInto('revoked_tokens')
        .values(row)
        .onConflict((oc) => oc.columns(['kind', 'id']).doUpdateSet({ expires_at: row.expires_at }))
        .execute();
    },

    /** Entries still live at `nowSeconds`. */
    async listLive(nowSeconds: number, executor: Executor = db) {
      return executor
        .selectFrom('revoked_tokens')
        .select(['kind', 'id', 'expires_at'])
        .where('expires_at', '>', nowSeconds)
        .execute();
    },

    async deleteExpired(nowSeconds: number, executor: Executor = db): Promise<void> {
      await executor.deleteFrom('revoked_tokens').where('expires_at', '<=', nowSeconds).execute();
    },
  };
}
