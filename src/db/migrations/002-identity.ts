import { type MigrationDb, required } from '../migration-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text')
    .addColumn('email', 'text')
    .addColumn('password_hash', 'text', required)
    .addColumn('status', 'text', required)
    .addColumn('locked_until', 'text')
    .addColumn('mfa_required', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('totp_secret_sealed', 'text')
    .addColumn('totp_last_step', 'bigint')
    .addColumn('password_changed_at', 'text', required)
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .execute();

  await db.schema
    .createTable('roles')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('category', 'text', required)
    .addColumn('description', 'text', required)
    .addColumn('scopes_json', 'text', required)
    .addColumn('requires_mfa', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', required)
    .execute();

  await db.schema
    .createTable('user_roles')
    .addColumn('user_id', 'text', required)
    .addColumn('role', 'text', required)
    .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role'])
    .execute();
  await db.schema.createIndex('user_roles_role').on('user_roles').column('role').execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('user_id', 'text', required)
    .addColumn('code_hash', 'text', required)
    .addColumn('used_at', 'text')
    .addPrimaryKeyConstraint('recovery_codes_pk', ['user_id', 'code_hash'])
    .execute();

  await db.schema
    .createTable('login_failures')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', required)
    .addColumn('occurred_at', 'text', required)
    .execute();
  await db.schema
    .createIndex('login_failures_user')
    .on('login_failures')
    .columns(['user_id', 'occurred_at'])
    .execute();
}
