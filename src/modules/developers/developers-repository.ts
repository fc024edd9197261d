import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type {
  ApiKeysTable,
  ClientApplicationsTable,
  RatePlansTable,
  UsageCountersTable,
} from '../../db/tables/developers.ts';
import type {
  ApiKeyRecord,
  AppKind,
  AppState,
  ClientApplication,
  Environment,
  Member,
  MemberRole,
  Organization,
  RatePlanRecord,
  StoredKeyState,
} from './model.ts';

export type Executor = Kysely<Database> | Transaction<Database>;

const json = (value: unknown) => JSON.stringify(value);
const parseList = (text: string) => JSON.parse(text) as string[];

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
    firstParty: Number(row.is_first_party) === 1,
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
    redirect_uris_json: json(app.redirectUris),
    cors_origins_json: json(app.corsOrigins),
    grant_types_json: json(app.grantTypes),
    token_endpoint_auth_method: app.tokenEndpointAuthMethod,
    scopes_json: json(app.scopes),
    requested_scopes_json: json(app.requestedScopes),
    apis_json: json(app.apis),
    plan_id: app.planId,
    environment: app.environment,
    state: app.state,
    state_reason: app.stateReason,
    is_first_party: app.firstParty ? 1 : 0,
    version: app.version,
    created_by: app.createdBy,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
  };
}

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

function toPlan(row: Selectable<RatePlansTable>): RatePlanRecord {
  return {
    id: row.id,
    name: row.name,
    perSecond: Number(row.per_second),
    burst: Number(row.burst),
    perDay: Number(row.per_day),
    abuseExempt: Number(row.is_abuse_exempt) === 1,
  };
}

export interface UsageRow {
  keyId: string;
  applicationId: string;
  api: string;
  operationId: string;
  status: number;
  granularity: 'minute' | 'hour' | 'day';
  bucket: string;
  count: number;
}

/** The only code of the developers module that speaks SQL. */
export function createDevelopersRepository(db: Kysely<Database>) {
  return {
    db,

    // ---- organizations and members --------------------------------------------------------------
    async insertOrganization(org: Organization & { createdBy: string | null }, ex: Executor = db) {
      await ex
        .insertInto('organizations')
        .values({
          id: org.id,
          name: org.name,
          created_by: org.createdBy,
          created_at: org.createdAt,
          updated_at: org.updatedAt,
        })
        .execute();
    },
    async findOrganization(id: string, ex: Executor = db): Promise<Organization | undefined> {
      const row = await ex.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
      return row && { id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
    },
    async findOrganizationByName(name: string, ex: Executor = db): Promise<Organization | undefined> {
      const row = await ex
        .selectFrom('organizations')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row && { id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
    },
    async listOrganizations(ids: readonly string[] | '*', ex: Executor = db): Promise<Organization[]> {
      let query = ex.selectFrom('organizations').selectAll().orderBy('name');
      if (ids !== '*') {
        if (ids.length === 0) return [];
        query = query.where('id', 'in', [...ids]);
      }
      const rows = await query.execute();
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      }));
    },
    async upsertMember(member: Member, ex: Executor = db) {
      await ex
        .insertInto('organization_members')
        .values({
          organization_id: member.organizationId,
          user_id: member.userId,
          display_name: member.displayName,
          role: member.role,
          created_at: member.createdAt,
        })
        .onConflict((oc) => oc.columns(['organization_id', 'user_id']).doUpdateSet({ role: member.role }))
        .execute();
    },
    async deleteMember(organizationId: string, userId: string, ex: Executor = db) {
      await ex
        .deleteFrom('organization_members')
        .where('organization_id', '=', organizationId)
        .where('user_id', '=', userId)
        .execute();
    },
    async listMembers(organizationId: string, ex: Executor = db): Promise<Member[]> {
      const rows = await ex
        .selectFrom('organization_members')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .orderBy('created_at')
        .execute();
      return rows.map((row) => ({
        organizationId: row.organization_id,
        userId: row.user_id,
        displayName: row.display_name,
        role: row.role as MemberRole,
        createdAt: row.created_at,
      }));
    },
    async membershipsOf(userId: string, ex: Executor = db): Promise<Map<string, MemberRole>> {
      const rows = await ex
        .selectFrom('organization_members')
        .select(['organization_id', 'role'])
        .where('user_id', '=', userId)
        .execute();
      return new Map(rows.map((row) => [row.organization_id, row.role as MemberRole]));
    },

    // ---- invitations ----------------------------------------------------------------------------
    async insertInvitation(
      invitation: {
        id: string;
        organizationId: string;
        role: MemberRole;
        tokenHash: string;
        createdBy: string | null;
        createdAt: string;
        expiresAt: string;
      },
      ex: Executor = db,
    ) {
      await ex
        .insertInto('organization_invitations')
        .values({
          id: invitation.id,
          organization_id: invitation.organizationId,
          role: invitation.role,
          token_hash: invitation.tokenHash,
          created_by: invitation.createdBy,
          created_at: invitation.createdAt,
          expires_at: invitation.expiresAt,
          accepted_at: null,
          accepted_by: null,
        })
        .execute();
    },
    async findInvitationByHash(tokenHash: string, ex: Executor = db) {
      return ex
        .selectFrom('organization_invitations')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
    },
    /** Marks an open invitation accepted; false when it was already used (single use, race-safe). */
    async acceptInvitation(id: string, userId: string, at: string, ex: Executor = db): Promise<boolean> {
      const result = await ex
        .updateTable('organization_invitations')
        .set({ accepted_at: at, accepted_by: userId })
        .where('id', '=', id)
        .where('accepted_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listOpenInvitations(organizationId: string, now: string, ex: Executor = db) {
      return ex
        .selectFrom('organization_invitations')
        .select(['id', 'role', 'created_at', 'expires_at'])
        .where('organization_id', '=', organizationId)
        .where('accepted_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .execute();
    },

    // ---- rate plans -----------------------------------------------------------------------------
    async listPlans(ex: Executor = db): Promise<RatePlanRecord[]> {
      return (await ex.selectFrom('rate_plans').selectAll().orderBy('name').execute()).map(toPlan);
    },
    async findPlan(id: string, ex: Executor = db): Promise<RatePlanRecord | undefined> {
      const row = await ex.selectFrom('rate_plans').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toPlan(row);
    },
    async findPlanByName(name: string, ex: Executor = db): Promise<RatePlanRecord | undefined> {
      const row = await ex.selectFrom('rate_plans').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toPlan(row);
    },
    async upsertPlan(plan: RatePlanRecord, at: string, ex: Executor = db) {
      const values = {
        per_second: plan.perSecond,
        burst: plan.burst,
        per_day: plan.perDay,
        is_abuse_exempt: plan.abuseExempt ? 1 : 0,
      };
      await ex
        .insertInto('rate_plans')
        .values({ id: plan.id, name: plan.name, created_at: at, ...values })
        .onConflict((oc) => oc.column('id').doUpdateSet(values))
        .execute();
    },

    // ---- client applications --------------------------------------------------------------------
    async insertApplication(app: ClientApplication, ex: Executor = db) {
      await ex.insertInto('client_applications').values(fromApplication(app)).execute();
    },
    /** Optimistic update: succeeds only if the stored version is still `expectedVersion`. */
    async updateApplication(app: ClientApplication, expectedVersion: number, ex: Executor = db) {
      const { id: _id, created_at: _c, ...values } = fromApplication(app);
      const result = await ex
        .updateTable('client_applications')
        .set(values)
        .where('id', '=', app.id)
        .where('version', '=', expectedVersion)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async findApplication(id: string, ex: Executor = db): Promise<ClientApplication | undefined> {
      const row = await ex
        .selectFrom('client_applications')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toApplication(row);
    },
    async findApplicationByName(organizationId: string, name: string, ex: Executor = db) {
      const row = await ex
        .selectFrom('client_applications')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('name', '=', name)
        .where('state', '!=', 'deleted')
        .executeTakeFirst();
      return row && toApplication(row);
    },
    async listApplications(
      filter: {
        organizationIds: readonly string[] | '*';
        includeDeleted?: boolean;
        start?: number;
        limit?: number;
      },
      ex: Executor = db,
    ): Promise<ClientApplication[]> {
      let query = ex.selectFrom('client_applications').selectAll().orderBy('created_at').orderBy('id');
      if (filter.organizationIds !== '*') {
        if (filter.organizationIds.length === 0) return [];
        query = query.where('organization_id', 'in', [...filter.organizationIds]);
      }
      if (!filter.includeDeleted) query = query.where('state', '!=', 'deleted');
      if (filter.limit !== undefined) query = query.limit(filter.limit).offset(filter.start ?? 0);
      return (await query.execute()).map(toApplication);
    },

    /** Every CORS origin registered by a live application (for CORS preflights, which carry no key). */
    async listCorsOrigins(ex: Executor = db): Promise<Set<string>> {
      const rows = await ex
        .selectFrom('client_applications')
        .select('cors_origins_json')
        .where('state', 'in', ['pending', 'active'])
        .where('cors_origins_json', '!=', '[]')
        .execute();
      return new Set(rows.flatMap((row) => parseList(row.cors_origins_json)));
    },

    // ---- API keys -------------------------------------------------------------------------------
    async insertKey(key: ApiKeyRecord, ex: Executor = db) {
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
    async updateKey(
      id: string,
      fromState: StoredKeyState,
      patch: {
        state?: StoredKeyState;
        stateReason?: string | null;
        expiresAt?: string | null;
        updatedAt: string;
      },
      ex: Executor = db,
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
    async findKey(id: string, ex: Executor = db): Promise<ApiKeyRecord | undefined> {
      const row = await ex.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toKey(row);
    },
    async listKeys(
      filter: { applicationIds: readonly string[] | '*'; start?: number; limit?: number },
      ex: Executor = db,
    ): Promise<ApiKeyRecord[]> {
      let query = ex.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
      if (filter.applicationIds !== '*') {
        if (filter.applicationIds.length === 0) return [];
        query = query.where('application_id', 'in', [...filter.applicationIds]);
      }
      if (filter.limit !== undefined) query = query.limit(filter.limit).offset(filter.start ?? 0);
      return (await query.execute()).map(toKey);
    },
    /** Everything the key verifier needs about one key, in one query. */
    async loadVerification(id: string, ex: Executor = db) {
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
        },
        plan: toPlan({
          id: row.plan_id,
          name: row.plan_name,
          per_second: row.plan_per_second,
          burst: row.plan_burst,
          per_day: row.plan_per_day,
          is_abuse_exempt: row.plan_is_abuse_exempt,
          created_at: '',
        }),
      };
    },

    // ---- usage ----------------------------------------------------------------------------------
    /** Adds counts to the buckets (insert or increment), in the caller's transaction. */
    async addUsage(rows: readonly UsageRow[], ex: Executor = db) {
      for (let i = 0; i < rows.length; i += 200) {
        const values: UsageCountersTable[] = rows.slice(i, i + 200).map((row) => ({
          key_id: row.keyId,
          application_id: row.applicationId,
          api: row.api,
          operation_id: row.operationId,
          status: row.status,
          granularity: row.granularity,
          bucket: row.bucket,
          count: row.count,
        }));
        await ex
          .insertInto('usage_counters')
          .values(values)
          .onConflict((oc) =>
            oc
              .columns(['key_id', 'granularity', 'bucket', 'api', 'operation_id', 'status'])
              .doUpdateSet((eb) => ({ count: eb('usage_counters.count', '+', eb.ref('excluded.count')) })),
          )
          .execute();
      }
    },
    async listUsage(
      filter: { keyIds?: readonly string[]; applicationId?: string; granularity: string; since: string },
      ex: Executor = db,
    ): Promise<UsageRow[]> {
      let query = ex
        .selectFrom('usage_counters')
        .selectAll()
        .where('granularity', '=', filter.granularity)
        .where('bucket', '>=', filter.since)
        .orderBy('bucket');
      if (filter.keyIds) {
        if (filter.keyIds.length === 0) return [];
        query = query.where('key_id', 'in', [...filter.keyIds]);
      }
      if (filter.applicationId) query = query.where('application_id', '=', filter.applicationId);
      return (await query.execute()).map((row) => ({
        keyId: row.key_id,
        applicationId: row.application_id,
        api: row.api,
        operationId: row.operation_id,
        status: Number(row.status),
        granularity: row.granularity as UsageRow['granularity'],
        bucket: row.bucket,
        count: Number(row.count),
      }));
    },

    // ---- portal sessions ------------------------------------------------------------------------
    async insertSession(
      session: {
        idHash: string;
        userId: string;
        username: string;
        scopes: string[];
        csrfToken: string;
        createdAt: string;
        expiresAt: string;
      },
      ex: Executor = db,
    ) {
      await ex
        .insertInto('portal_sessions')
        .values({
          id_hash: session.idHash,
          user_id: session.userId,
          username: session.username,
          scopes_json: json(session.scopes),
          csrf_token: session.csrfToken,
          created_at: session.createdAt,
          expires_at: session.expiresAt,
        })
        .execute();
    },
    async findSession(idHash: string, ex: Executor = db) {
      const row = await ex
        .selectFrom('portal_sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return (
        row && {
          userId: row.user_id,
          username: row.username,
          scopes: parseList(row.scopes_json),
          csrfToken: row.csrf_token,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      );
    },
    async deleteSession(idHash: string, ex: Executor = db) {
      await ex.deleteFrom('portal_sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteExpiredSessions(now: string, ex: Executor = db) {
      await ex.deleteFrom('portal_sessions').where('expires_at', '<', now).execute();
    },
  };
}

export type DevelopersRepository = ReturnType<typeof createDevelopersRepository>;
