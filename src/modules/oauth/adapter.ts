import type { Kysely } from 'kysely';
import { errors } from 'oidc-provider';
import type { Database } from '../../db/schema.ts';
import type { Clients } from './clients-service.ts';
import type { Grants } from './grants-service.ts';

type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  clientId?: string;
  consumed?: number;
};

// oidc-provider's artifacts follow its own clock (Date.now), not the domain clock.
const epoch = () => Math.floor(Date.now() / 1000);

/**
 * oidc-provider's storage adapter on our store (SQLite or PostgreSQL): one table keyed by (model, id).
 * `Client` is answered from the client registry. `consume` is atomic: of concurrent uses of one code or
 * refresh token only the first succeeds.
 */
export function createAdapterClass(deps: { db: Kysely<Database>; clients: Clients; grants: Grants }) {
  const { db, clients, grants } = deps;

  return class StoreAdapter {
    readonly name: string;

    constructor(name: string) {
      this.name = name;
    }

    async upsert(id: string, payload: Payload, expiresIn: number): Promise<void> {
      if (this.name === 'Client') throw new Error('clients are managed by the client registry');
      const row = {
        payload_json: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        user_code: payload.userCode ?? null,
        account_id: payload.accountId ?? null,
        client_id: payload.clientId ?? null,
        expires_at: expiresIn ? epoch() + expiresIn : null,
      };
      await db
        .insertInto('oidc_payloads')
        .values({ model: this.name, id, consumed_at: null, ...row })
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(row))
        .execute();
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.name === 'Client') return (await clients.providerMetadata(id)) as Payload | undefined;
      return this.findWhere('id', id);
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      return this.findWhere('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      return this.findWhere('user_code', userCode);
    }

    private async findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<Payload | undefined> {
      if (typeof value !== 'string' || value.length > 512) return undefined;
      const row = await db
        .selectFrom('oidc_payloads')
        .select(['payload_json', 'expires_at', 'consumed_at'])
        .where('model', '=', this.name)
        .where(column, '=', value)
        .executeTakeFirst();
      if (!row) return undefined;
      if (row.expires_at !== null && Number(row.expires_at) <= epoch()) return undefined;
      const payload = JSON.parse(row.payload_json) as Payload;
      if (row.consumed_at !== null) payload.consumed = Number(row.consumed_at);
      return payload;
    }

    async consume(id: string): Promise<void> {
      const result = await db
        .updateTable('oidc_payloads')
        .set({ consumed_at: epoch() })
        .where('model', '=', this.name)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) return;
      // Someone else used it between our read and this update: a concurrent replay.
      if (this.name === 'AuthorizationCode') {
        const row = await db
          .selectFrom('oidc_payloads')
          .select('grant_id')
          .where('model', '=', this.name)
          .where('id', '=', id)
          .executeTakeFirst();
        if (row?.grant_id) await grants.revokeGrant(row.grant_id, 'authorization code replayed');
      }
      throw new errors.InvalidGrant('grant request is invalid (already used)');
    }

    async destroy(id: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('model', '=', this.name).where('id', '=', id).execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      // oidc-provider ends a grant by calling this for every model, AccessToken first. Ending it here
      // also puts it on the denylist, so its (stateless JWT) access tokens stop working too.
      if (this.name === 'AccessToken') {
        await grants.revokeGrant(grantId, 'grant ended by the authorization server');
        return;
      }
      await db
        .deleteFrom('oidc_payloads')
        .where('model', '=', this.name)
        .where('grant_id', '=', grantId)
        .execute();
    }
  };
}
