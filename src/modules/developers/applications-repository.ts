import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { ClientApplicationsTable } from '../../db/tables/developers.ts';
import { fromFlag, parseList, toFlag, toJson } from './columns.ts';
import type { AppKind, AppState, ClientApplication, Environment } from './model.ts';

// The casts below are safe: migration 007 constrains kind, environment and state to the model's values.
function toApplication(row: Selectable<ClientApplicationsTable>): ClientApplication {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    description: row.description,
    kind: row.kind as AppKind,
    clientId: row.client_id,
    redirectUris: parseList(row.redirect_uris_json),
    corsOrigins: parseList(row.cors_origins_json),
    grantTypes: parseList(row.grant_types_json),
    tokenEndpointAuthMethod: row.token_endpoint_auth_method,
    scopes: parseList(row.scopes_json),
    requestedScopes: parseList(row.requested_scopes_json),
    apis: parseList(row.apis_json),
    planId: row.plan_id,
    environment: row.environment as Environment,
    state: row.state as AppState,
    stateReason: row.state_reason,
    firstParty: fromFlag(row.is_first_party),
    version: Number(row.version),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function fromApplication(app: ClientApplication): ClientApplicationsTable {
  return {
    id: app.id,
    organization_id: app.organizationId,
    name: app.name,
    description: app.description,
    kind: app.kind,
    client_id: app.clientId,
    redirect_uris_json: toJson(app.redirectUris),
    cors_origins_json: toJson(app.corsOrigins),
    grant_types_json: toJson(app.grantTypes),
    token_endpoint_auth_method: app.tokenEndpointAuthMethod,
    scopes_json: toJson(app.scopes),
    requested_scopes_json: toJson(app.requestedScopes),
    apis_json: toJson(app.apis),
    plan_id: app.planId,
    environment: app.environment,
    state: app.state,
    state_reason: app.stateReason,
    is_first_party: toFlag(app.firstParty),
    version: app.version,
    created_by: app.createdBy,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
  };
}

/** SQL of client applications. */
export const applicationsRepository = {
  async insert(ex: Executor, app: ClientApplication): Promise<void> {
    await ex.insertInto('client_applications').values(fromApplication(app)).execute();
  },

  /** Optimistic update: succeeds only if the stored version is still `expectedVersion`. */
  async update(ex: Executor, app: ClientApplication, expectedVersion: number): Promise<boolean> {
    const { id: _id, created_at: _c, ...values } = fromApplication(app);
    const result = await ex
      .updateTable('client_applications')
      .set(values)
      .where('id', '=', app.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async find(ex: Executor, id: string): Promise<ClientApplication | undefined> {
    const row = await ex
      .selectFrom('client_applications')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toApplication(row);
  },

  /** The environment of the application an OAuth client belongs to (undefined: none, e.g. the portal). */
  async environmentOfClient(ex: Executor, clientId: string): Promise<Environment | undefined> {
    const row = await ex
      .selectFrom('client_applications')
      .select('environment')
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return row?.environment as Environment | undefined;
  },

  /** The live (not deleted) application of that name in the organization. */
  async findByName(
    ex: Executor,
    organizationId: string,
    name: string,
  ): Promise<ClientApplication | undefined> {
    const row = await ex
      .selectFrom('client_applications')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('name', '=', name)
      .where('state', '!=', 'deleted')
      .executeTakeFirst();
    return row && toApplication(row);
  },

  async list(
    ex: Executor,
    filter: {
      organizationIds: readonly string[] | '*';
      /** Leave out first-party applications (the institution's own: only the institution sees them). */
      excludeFirstParty?: boolean;
      start?: number;
      limit?: number;
    },
  ): Promise<ClientApplication[]> {
    let query = ex
      .selectFrom('client_applications')
      .selectAll()
      .where('state', '!=', 'deleted')
      .orderBy('created_at')
      .orderBy('id');
    if (filter.organizationIds !== '*') {
      if (filter.organizationIds.length === 0) return [];
      query = query.where('organization_id', 'in', [...filter.organizationIds]);
    }
    if (filter.excludeFirstParty) query = query.where('is_first_party', '=', 0);
    if (filter.limit !== undefined) query = query.limit(filter.limit).offset(filter.start ?? 0);
    return (await query.execute()).map(toApplication);
  },

  /** Every CORS origin registered by a live application (for CORS preflights, which carry no key). */
  async listCorsOrigins(ex: Executor): Promise<Set<string>> {
    const rows = await ex
      .selectFrom('client_applications')
      .select('cors_origins_json')
      .where('state', 'in', ['pending', 'active'])
      .where('cors_origins_json', '!=', '[]')
      .execute();
    return new Set(rows.flatMap((row) => parseList(row.cors_origins_json)));
  },
};
