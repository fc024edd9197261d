import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { ApiKeysTable } from '../../db/tables/developers.ts';
import { parseList } from './columns.ts';
import type { ApiKeyRecord, AppState, Environment, StoredKeyState } from './model.ts';
import { toPlan } from './plans-repository.ts';

function toKey(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id,
    applicationId: row.application_id,
    label: row.label,
    prefix: row.prefix,
    last4: row.last4,
    secretHash: row.secret_hash,
    state: row.state as StoredKeyState,
    stateReason: row.state_reason,
    expiresAt: row.expires_at,
    rotatedFrom: row.rotated_from,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** SQL of API keys: only a key's SHA-256 hash, prefix and last four characters are stored. */
export const apiKeysRepository = {
  async insert(ex: Executor, key: ApiKeyRecord): Promise<void> {
    await ex
      .insertInto('api_keys')
      .values({
        id: key.id,
        application_id: key.applicationId,
        label: key.label,
        prefix: key.prefix,
        last4: key.last4,
        secret_hash: key.secretHash,
        state: key.state,
        state_reason: key.stateReason,
        expires_at: key.expiresAt,
        rotated_from: key.rotatedFrom,
        created_by: key.createdBy,
        created_at: key.createdAt,
        updated_at: key.updatedAt,
      })
      .execute();
  },

  /** Compare-and-set on the stored state, so two concurrent transitions cannot both win. */
  async update(
    ex: Executor,
    id: string,
    fromState: StoredKeyState,
    patch: {
      state?: StoredKeyState;
      stateReason?: string | null;
      expiresAt?: string | null;
      updatedAt: string;
    },
  ): Promise<boolean> {
    const result = await ex
      .updateTable('api_keys')
      .set({
        ...(patch.state !== undefined ? { state: patch.state } : {}),
        ...(patch.stateReason !== undefined ? { state_reason: patch.stateReason } : {}),
        ...(patch.expiresAt !== undefined ? { expires_at: patch.expiresAt } : {}),
        updated_at: patch.updatedAt,
      })
      .where('id', '=', id)
      .where('state', '=', fromState)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async find(ex: Executor, id: string): Promise<ApiKeyRecord | undefined> {
    const row = await ex.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toKey(row);
  },

  async list(
    ex: Executor,
    filter: { applicationIds: readonly string[] | '*'; start?: number; limit?: number },
  ): Promise<ApiKeyRecord[]> {
    let query = ex.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
    if (filter.applicationIds !== '*') {
      if (filter.applicationIds.length === 0) return [];
      query = query.where('application_id', 'in', [...filter.applicationIds]);
    }
    if (filter.limit !== undefined) query = query.limit(filter.limit).offset(filter.start ?? 0);
    return (await query.execute()).map(toKey);
  },

  /** Everything the key verifier needs about one key (its application and rate plan), in one query. */
  async loadVerification(ex: Executor, id: string) {
    const row = await ex
      .selectFrom('api_keys as k')
      .innerJoin('client_applications as a', 'a.id', 'k.application_id')
      .innerJoin('rate_plans as p', 'p.id', 'a.plan_id')
      .selectAll('k')
      .select([
        'a.organization_id as app_organization_id',
        'a.client_id as app_client_id',
        'a.state as app_state',
        'a.cors_origins_json as app_cors_origins_json',
        'a.apis_json as app_apis_json',
        'a.environment as app_environment',
        'p.id as plan_id',
        'p.name as plan_name',
        'p.per_second as plan_per_second',
        'p.burst as plan_burst',
        'p.per_day as plan_per_day',
        'p.is_abuse_exempt as plan_is_abuse_exempt',
      ])
      .where('k.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      key: toKey(row),
      application: {
        id: row.application_id,
        organizationId: row.app_organization_id,
        clientId: row.app_client_id,
        state: row.app_state as AppState,
        corsOrigins: parseList(row.app_cors_origins_json),
        apis: parseList(row.app_apis_json),
        environment: row.app_environment as Environment,
      },
      plan: toPlan({
        id: row.plan_id,
        name: row.plan_name,
        per_second: row.plan_per_second,
        burst: row.plan_burst,
        per_day: row.plan_per_day,
        is_abuse_exempt: row.plan_is_abuse_exempt,
      }),
    };
  },
};
