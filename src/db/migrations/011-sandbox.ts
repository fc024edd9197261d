import { sql } from 'kysely';
import { type MigrationDb, required } from '../migration-helpers.ts';

/**
 * The sandbox institution (DESIGN.md §5.4): users and the banking data they own carry an environment,
 * `production` (every existing row) or `sandbox` (test customers and their accounts); and the sandbox
 * customers' passwords, sealed, so the portal can show them to developers.
 */
const ENVIRONMENT_TABLES = ['users', 'banking_accounts', 'banking_applications'] as const;

export async function up(db: MigrationDb): Promise<void> {
  for (const table of ENVIRONMENT_TABLES) {
    await db.schema
      .alterTable(table)
      .addColumn('environment', 'text', (c) =>
        c.notNull().defaultTo('production').check(sql`environment in ('production', 'sandbox')`),
      )
      .execute();
    await db.schema.createIndex(`${table}_environment`).on(table).column('environment').execute();
  }

  await db.schema
    .createTable('sandbox_customers')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('persona', 'text', required)
    .addColumn('password_sealed', 'text', required)
    .addColumn('position', 'integer', required)
    .addColumn('created_at', 'text', required)
    .execute();
}
