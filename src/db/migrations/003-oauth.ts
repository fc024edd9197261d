import { type MigrationDb, required } from '../migration-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('oauth_clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', required)
    .addColumn('application_id', 'text')
    .addColumn('kind', 'text', required)
    .addColumn('token_endpoint_auth_method', 'text', required)
    .addColumn('redirect_uris_json', 'text', required)
    .addColumn('post_logout_redirect_uris_json', 'text', required)
    .addColumn('grant_types_json', 'text', required)
    .addColumn('allowed_scopes_json', 'text', required)
    .addColumn('jwks_json', 'text')
    .addColumn('lifetimes_json', 'text', required)
    .addColumn('is_first_party', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('organization_name', 'text')
    .addColumn('is_enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('secret_hash', 'text')
    .addColumn('previous_secret_hash', 'text')
    .addColumn('previous_secret_expires_at', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .execute();
  await db.schema
    .createIndex('oauth_clients_application')
    .on('oauth_clients')
    .column('application_id')
    .execute();

  await db.schema
    .createTable('oidc_payloads')
    .addColumn('model', 'text', required)
    .addColumn('id', 'text', required)
    .addColumn('payload_json', 'text', required)
    .addColumn('grant_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('user_code', 'text')
    .addColumn('account_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addPrimaryKeyConstraint('oidc_payloads_pk', ['model', 'id'])
    .execute();
  await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').column('grant_id').execute();
  await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').column('uid').execute();
  await db.schema.createIndex('oidc_payloads_user_code').on('oidc_payloads').column('user_code').execute();
  await db.schema.createIndex('oidc_payloads_account').on('oidc_payloads').column('account_id').execute();
  await db.schema.createIndex('oidc_payloads_client').on('oidc_payloads').column('client_id').execute();
  await db.schema.createIndex('oidc_payloads_expires').on('oidc_payloads').column('expires_at').execute();

  await db.schema
    .createTable('revoked_tokens')
    .addColumn('kind', 'text', required)
    .addColumn('id', 'text', required)
    .addColumn('revoked_at', 'text', required)
    .addColumn('expires_at', 'bigint', required)
    .addColumn('reason', 'text')
    .addPrimaryKeyConstraint('revoked_tokens_pk', ['kind', 'id'])
    .execute();
  await db.schema.createIndex('revoked_tokens_expires').on('revoked_tokens').column('expires_at').execute();

  await db.schema
    .createTable('oauth_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('use', 'text', required)
    .addColumn('alg', 'text', required)
    .addColumn('sealed_key', 'text', required)
    .addColumn('created_at', 'text', required)
    .addColumn('retired_at', 'text')
    .addColumn('unpublish_at', 'bigint')
    .execute();
}
