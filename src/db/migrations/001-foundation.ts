import { type MigrationDb, required, withSerialId } from '../migration-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await withSerialId(db, db.schema.createTable('change_log'))
    .addColumn('topic', 'text', required)
    .addColumn('key', 'text', required)
    .addColumn('created_at', 'text', required)
    .execute();
  await db.schema.createIndex('change_log_created_at').on('change_log').column('created_at').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('occurred_at', 'text', required)
    .addColumn('actor_type', 'text', required)
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', required)
    .addColumn('target_type', 'text', required)
    .addColumn('target_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('before_json', 'text')
    .addColumn('after_json', 'text')
    .addColumn('request_id', 'text')
    .execute();
  await db.schema
    .createIndex('audit_log_target')
    .on('audit_log')
    .columns(['target_type', 'target_id'])
    .execute();
  await db.schema.createIndex('audit_log_occurred_at').on('audit_log').column('occurred_at').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value_json', 'text', required)
    .addColumn('updated_at', 'text', required)
    .execute();
}
