import { type MigrationDb, required } from '../migration-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('entitlements')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subject', 'text', required)
    .addColumn('resource', 'text', required)
    .addColumn('resource_id', 'text', required)
    .addColumn('permissions_json', 'text', required)
    .addColumn('relationship', 'text', required)
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .execute();
  // The hot-path load is "every entitlement of one subject": the unique index serves it as a prefix.
  await db.schema
    .createIndex('entitlements_subject_resource')
    .unique()
    .on('entitlements')
    .columns(['subject', 'resource', 'resource_id'])
    .execute();
  await db.schema
    .createIndex('entitlements_resource')
    .on('entitlements')
    .columns(['resource', 'resource_id'])
    .execute();

  await db.schema
    .createTable('gateway_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', required)
    .addColumn('private_sealed', 'text', required)
    .addColumn('public_json', 'text', required)
    .addColumn('created_at', 'text', required)
    .execute();
  await db.schema.createIndex('gateway_keys_purpose').on('gateway_keys').column('purpose').execute();
}
