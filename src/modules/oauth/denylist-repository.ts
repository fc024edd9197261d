import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { RevokedTokensTable } from '../../db/tables/oauth.ts';

export type DenialKind = 'grant' | 'jti';
type DenialRow = Selectable<RevokedTokensTable>;

/** SQL of `revoked_tokens`: the denylist of revoked grants and token ids, kept until their tokens expire. */
export const denylistRepository = {
  /** Expiry (epoch seconds) of one entry, if listed. */
  async expiryOf(ex: Executor, kind: DenialKind, id: string): Promise<number | undefined> {
    const row = await ex
      .selectFrom('revoked_tokens')
      .select('expires_at')
      .where('kind', '=', kind)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? Number(row.expires_at) : undefined;
  },

  /** List an entry; listing it again moves its expiry. */
  async upsert(ex: Executor, row: DenialRow): Promise<void> {
    await ex
      .insertInto('revoked_tokens')
      .values(row)
      .onConflict((oc) => oc.columns(['kind', 'id']).doUpdateSet({ expires_at: row.expires_at }))
      .execute();
  },

  /** Entries still live at `nowSeconds`. */
  async listLive(ex: Executor, nowSeconds: number) {
    return ex
      .selectFrom('revoked_tokens')
      .select(['kind', 'id', 'expires_at'])
      .where('expires_at', '>', nowSeconds)
      .execute();
  },

  async deleteExpired(ex: Executor, nowSeconds: number): Promise<void> {
    await ex.deleteFrom('revoked_tokens').where('expires_at', '<=', nowSeconds).execute();
  },
};
