import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { GatewayKeysTable } from '../../db/tables/gateway.ts';

export type GatewayKeyRow = Selectable<GatewayKeysTable>;

/** SQL for the gateway's own key material (`gateway_keys`). The only code that touches the table. */
export const gatewayKeysRepository = {
  async insert(db: Executor, row: GatewayKeyRow): Promise<void> {
    await db.insertInto('gateway_keys').values(row).execute();
  },

  /** The oldest key for `purpose` (ties broken by kid): the one every instance settles on. */
  async oldest(
    db: Executor,
    purpose: string,
  ): Promise<Pick<GatewayKeyRow, 'kid' | 'private_sealed'> | undefined> {
    return db
      .selectFrom('gateway_keys')
      .select(['kid', 'private_sealed'])
      .where('purpose', '=', purpose)
      .orderBy('created_at')
      .orderBy('kid')
      .executeTakeFirst();
  },

  /** Every public JWK (JSON text) for `purpose`. */
  async publicKeys(db: Executor, purpose: string): Promise<string[]> {
    const rows = await db
      .selectFrom('gateway_keys')
      .select('public_json')
      .where('purpose', '=', purpose)
      .execute();
    return rows.map((row) => row.public_json);
  },
};
