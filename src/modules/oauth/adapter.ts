import type { Kysely } from 'kysely';
import { errors } from 'oidc-provider';
import type { Database } from '../../db/index.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Clients } from './clients-service.ts';
import type { Grants } from './grants-service.ts';
import { concealPayload, revealPayload, storedId } from './payload-secrets.ts';
import { payloadsRepository as payloads } from './payloads-repository.ts';

type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  clientId?: string;
  consumed?: number;
};

/**
 * oidc-provider's storage adapter on our store (SQLite or PostgreSQL): one table keyed by (model, id),
 * bearer-secret ids stored only as digests and never copied into payloads (`payload-secrets.ts`).
 * `Client` is answered from the client registry. `consume` is atomic: of concurrent uses of one code or
 * refresh token only the first succeeds. Stored expiries are domain time (the injected clock; the system
 * clock in production, as oidc-provider's own).
 */
export function createAdapterClass(deps: {
  db: Kysely<Database>;
  clock: Clock;
  clients: Clients;
  grants: Grants;
}) {
  const { db, clock, clients, grants } = deps;
  const epoch = () => Math.floor(clock.now() / 1000);

  return class StoreAdapter {
    readonly name: string;

    constructor(name: string) {
      this.name = name;
    }

    async upsert(id: string, payload: Payload, expiresIn: number): Promise<void> {
      if (this.name === 'Client') throw new Error('clients are managed by the client registry');
      await payloads.upsert(db, {
        model: this.name,
        id: storedId(this.name, id),
        payload_json: concealPayload(this.name, id, payload),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        user_code: payload.userCode ?? null,
        account_id: payload.accountId ?? null,
        client_id: payload.clientId ?? null,
        expires_at: expiresIn ? epoch() + expiresIn : null,
        consumed_at: null,
      });
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.name === 'Client') return (await clients.providerMetadata(id)) as Payload | undefined;
      if (typeof id !== 'string' || id.length > 512) return undefined;
      return this.findWhere('id', storedId(this.name, id), id);
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      return this.findWhere('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      return this.findWhere('user_code', userCode);
    }

    private async findWhere(
      column: 'id' | 'uid' | 'user_code',
      value: string,
      id?: string,
    ): Promise<Payload | undefined> {
      if (typeof value !== 'string' || value.length > 512) return undefined;
      const row = await payloads.findBy(db, this.name, column, value);
      if (!row) return undefined;
      if (row.expires_at !== null && Number(row.expires_at) <= epoch()) return undefined;
      const payload = revealPayload(row.payload_json, id) as Payload;
      if (row.consumed_at !== null) payload.consumed = Number(row.consumed_at);
      return payload;
    }

    async consume(id: string): Promise<void> {
      const key = storedId(this.name, id);
      if (await payloads.consume(db, this.name, key, epoch())) return;
      // Someone else used it between our read and this update: a concurrent replay.
      if (this.name === 'AuthorizationCode') {
        const grantId = await payloads.grantIdOf(db, this.name, key);
        if (grantId) await grants.revokeGrant(grantId, 'authorization code replayed');
      }
      throw new errors.InvalidGrant('grant request is invalid (already used)');
    }

    async destroy(id: string): Promise<void> {
      await payloads.delete(db, this.name, storedId(this.name, id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      // oidc-provider ends a grant by calling this for every model, AccessToken first. Ending it here
      // also puts it on the denylist, so its (stateless JWT) access tokens stop working too.
      if (this.name === 'AccessToken') {
        await grants.revokeGrant(grantId, 'grant ended by the authorization server');
        return;
      }
      await payloads.deleteModelOfGrant(db, this.name, grantId);
    }
  };
}
