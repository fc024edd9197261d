import { type MigrationDb, required } from '../migration-helpers.ts';

/**
 * Authorization-server hardening (issue 10): wrong second-factor codes counted per account in the store
 * (across interactions, sessions and addresses) and the MFA lock they lead to.
 */
export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('mfa_failures')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', required)
    .addColumn('occurred_at', 'text', required)
    .execute();
  await db.schema
    .createIndex('mfa_failures_user')
    .on('mfa_failures')
    .columns(['user_id', 'occurred_at'])
    .execute();
  await db.schema
    .createTable('mfa_locks')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('locked_until', 'text', required)
    .execute();
}
