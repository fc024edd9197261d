import { databaseNow } from '../database-time.ts';
import { type MigrationDb, required } from '../migration-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', required)
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .execute();

  await db.schema
    .createTable('organization_members')
    .addColumn('organization_id', 'text', required)
    .addColumn('user_id', 'text', required)
    .addColumn('display_name', 'text', required)
    .addColumn('role', 'text', required)
    .addColumn('created_at', 'text', required)
    .addPrimaryKeyConstraint('organization_members_pk', ['organization_id', 'user_id'])
    .execute();
  await db.schema
    .createIndex('organization_members_user')
    .on('organization_members')
    .column('user_id')
    .execute();

  await db.schema
    .createTable('organization_invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', required)
    .addColumn('role', 'text', required)
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('expires_at', 'text', required)
    .addColumn('accepted_at', 'text')
    .addColumn('accepted_by', 'text')
    .execute();

  await db.schema
    .createTable('rate_plans')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('per_second', 'integer', required)
    .addColumn('burst', 'integer', required)
    .addColumn('per_day', 'bigint', required)
    .addColumn('is_abuse_exempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', required)
    .execute();
  // Every installation has the standard plan that developer-registered applications get.
  await db
    .insertInto('rate_plans')
    .values({
      id: 'plan_standard',
      name: 'standard',
      per_second: 100,
      burst: 200,
      per_day: 1_000_000,
      is_abuse_exempt: 0,
      // The database's clock: a migration has no injected Clock, and this is simply when it ran.
      created_at: databaseNow(db),
    })
    .execute();

  await db.schema
    .createTable('client_applications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', required)
    .addColumn('name', 'text', required)
    .addColumn('description', 'text', required)
    .addColumn('kind', 'text', required)
    .addColumn('client_id', 'text', (c) => c.notNull().unique())
    .addColumn('redirect_uris_json', 'text', required)
    .addColumn('cors_origins_json', 'text', required)
    .addColumn('grant_types_json', 'text', required)
    .addColumn('token_endpoint_auth_method', 'text', required)
    .addColumn('scopes_json', 'text', required)
    .addColumn('requested_scopes_json', 'text', required)
    .addColumn('apis_json', 'text', required)
    .addColumn('plan_id', 'text', required)
    .addColumn('environment', 'text', required)
    .addColumn('state', 'text', required)
    .addColumn('state_reason', 'text')
    .addColumn('is_first_party', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .execute();
  await db.schema
    .createIndex('client_applications_organization')
    .on('client_applications')
    .column('organization_id')
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('application_id', 'text', required)
    .addColumn('label', 'text', required)
    .addColumn('prefix', 'text', required)
    .addColumn('last4', 'text', required)
    .addColumn('secret_hash', 'text', required)
    .addColumn('state', 'text', required)
    .addColumn('state_reason', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('rotated_from', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .execute();
  await db.schema.createIndex('api_keys_application').on('api_keys').column('application_id').execute();

  await db.schema
    .createTable('usage_counters')
    .addColumn('key_id', 'text', required)
    .addColumn('application_id', 'text', required)
    .addColumn('api', 'text', required)
    .addColumn('operation_id', 'text', required)
    .addColumn('status', 'integer', required)
    .addColumn('granularity', 'text', required)
    .addColumn('bucket', 'text', required)
    .addColumn('count', 'bigint', required)
    .addPrimaryKeyConstraint('usage_counters_pk', [
      'key_id',
      'granularity',
      'bucket',
      'api',
      'operation_id',
      'status',
    ])
    .execute();
  await db.schema
    .createIndex('usage_counters_application')
    .on('usage_counters')
    .columns(['application_id', 'granularity', 'bucket'])
    .execute();

  await db.schema
    .createTable('portal_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', required)
    .addColumn('username', 'text', required)
    .addColumn('scopes_json', 'text', required)
    .addColumn('csrf_token', 'text', required)
    .addColumn('created_at', 'text', required)
    .addColumn('expires_at', 'text', required)
    .execute();
}
