import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { OauthClientsTable } from '../../db/tables/oauth.ts';

type Executor = Kysely<Database> | Transaction<Database>;
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
    async list(): Promise<ClientRow[]> {
      return db.selectFrom('oauth_clients').selectAll().orderBy('created_at').execute();
    },
  };
}
