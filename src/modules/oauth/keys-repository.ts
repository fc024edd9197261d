import type { Kysely, Selectable } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import type { OauthKeysTable } from '../../db/tables/oauth.ts';

export type KeyRow = Selectable<OauthKeysTable>;

/** SQL of `oauth_keys`: signing and cookie keys, sealed with the KEK. */
export function createKeysRepository(db: Kysely<Database>) {
  return {
    /** Keys still published at `nowSeconds`, newest first. */
    async listPublished(nowSeconds: number, executor: Executor = db): Promise<KeyRow[]> {
      return executor
        .selectFrom('oauth_keys')
        .selectAll()
        .where((eb) => eb.or([eb('unpublish_at', 'is', null), eb('unpublish_at', '>', nowSeconds)]))
        .orderBy('created_at', 'desc')
        .execute();
    },

    /** Keys not yet replaced. */
    async listActive(executor: Executor = db): Promise<Pick<KeyRow, 'kid' | 'use'>[]> {
      return executor
        .selectFrom('oauth_keys')
        .select(['kid', 'use'])
        .where('retired_at', 'is', null)
        .execute();
    },

    async insert(rows: KeyRow[], executor: Executor = db): Promise<void> {
      await executor.insertInto('oauth_keys').values(rows).execute();
    },

    async retire(
      kid: string,
      retiredAt: string,
      unpublishAt: number,
      executor: Executor = db,
    ): Promise<void> {
      await executor
        .updateTable('oauth_keys')
        .set({ retired_at: retiredAt, unpublish_at: unpublishAt })
        .where('kid', '=', kid)
        .execute();
    },
  };
}
