import type { Kysely, Selectable } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import type { OauthClientsTable } from '../../db/tables/oauth.ts';

export type ClientRow = Selectable<OauthClientsTable>;

/** SQL of the `oauth_clients` table; nothing else writes it. */
export function createClientsRepository(db: Kysely<Database>) {
  return {
    async insert(row: ClientRow, executor: Executor = db): Promise<void> {
      await executor.insertInto('oauth_clients').values(row).execute();
    },
    async find(clientId: string, executor: Executor = db): Promise<ClientRow | undefined> {
      return executor
        .selectFrom('oauth_clients')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirst();
    },
    async update(clientId: string, patch: Partial<ClientRow>, executor: Executor = db): Promise<number> {
      const result = await executor
        .updateTable('oauth_clients')
        .set(patch)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async delete(clientId: string, executor: Executor = db): Promise<number> {
      const result = await executor
        .deleteFrom('oauth_clients')
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async list(executor: Executor = db): Promise<ClientRow[]> {
      return executor.selectFrom('oauth_clients').selectAll().orderBy('created_at').execute();
    },
    /** Every client's lifetime overrides (JSON), e.g. to find the longest access-token lifetime. */
    async listLifetimes(executor: Executor = db): Promise<string[]> {
      const rows = await executor.selectFrom('oauth_clients').select('lifetimes_json').execute();
      return rows.map((row) => row.lifetimes_json);
    },
  };
}
