import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { OauthKeysTable } from '../../db/tables/oauth.ts';

export type KeyRow = Selectable<OauthKeysTable>;

/** SQL of `oauth_keys`: signing and cookie keys, sealed with the KEK. */
export const keysRepository = {
  /** Keys still published at `nowSeconds`, newest first. */
  async listPublished(ex: Executor, nowSeconds: number): Promise<KeyRow[]> {
    return ex
      .selectFrom('oauth_keys')
      .selectAll()
      .where((eb) => eb.or([eb('unpublish_at', 'is', null), eb('unpublish_at', '>', nowSeconds)]))
      .orderBy('created_at', 'desc')
      .execute();
  },

  /** Keys not yet replaced. */
  async listActive(ex: Executor): Promise<Pick<KeyRow, 'kid' | 'use'>[]> {
    return ex.selectFrom('oauth_keys').select(['kid', 'use']).where('retired_at', 'is', null).execute();
  },

  async insert(ex: Executor, rows: KeyRow[]): Promise<void> {
    await ex.insertInto('oauth_keys').values(rows).execute();
  },

  async retire(ex: Executor, kid: string, retiredAt: string, unpublishAt: number): Promise<void> {
    await ex
      .updateTable('oauth_keys')
      .set({ retired_at: retiredAt, unpublish_at: unpublishAt })
      .where('kid', '=', kid)
      .execute();
  },
};
