import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { OauthClientsTable } from '../../db/tables/oauth.ts';

export type ClientRow = Selectable<OauthClientsTable>;

/** SQL of the `oauth_clients` table; nothing else writes it. */
export const clientsRepository = {
  async insert(ex: Executor, row: ClientRow): Promise<void> {
    await ex.insertInto('oauth_clients').values(row).execute();
  },

  async find(ex: Executor, clientId: string): Promise<ClientRow | undefined> {
    return ex.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  },

  async update(ex: Executor, clientId: string, patch: Partial<ClientRow>): Promise<number> {
    const result = await ex
      .updateTable('oauth_clients')
      .set(patch)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async delete(ex: Executor, clientId: string): Promise<number> {
    const result = await ex.deleteFrom('oauth_clients').where('client_id', '=', clientId).executeTakeFirst();
    return Number(result.numDeletedRows);
  },

  async list(ex: Executor): Promise<ClientRow[]> {
    return ex.selectFrom('oauth_clients').selectAll().orderBy('created_at').execute();
  },

  /** Every client's lifetime overrides (JSON), e.g. to find the longest access-token lifetime. */
  async listLifetimes(ex: Executor): Promise<string[]> {
    const rows = await ex.selectFrom('oauth_clients').select('lifetimes_json').execute();
    return rows.map((row) => row.lifetimes_json);
  },
};
