import { type MigrationDb, required } from '../migration-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('banking_products')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('category', 'text', required)
    .addColumn('name', 'text', required)
    .addColumn('description', 'text', required)
    .addColumn('currency', 'text', required)
    .addColumn('apy', 'text', required)
    .addColumn('minimum_opening_deposit_minor', 'bigint', required)
    .addColumn('monthly_fee_minor', 'bigint', required)
    .addColumn('term_months', 'integer')
    .addColumn('is_business', 'integer', required)
    .addColumn('created_at', 'text', required)
    .execute();

  await db.schema
    .createTable('banking_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('product_id', 'text', (c) => c.notNull().references('banking_products.id'))
    .addColumn('name', 'text', required)
    .addColumn('account_number', 'text', (c) => c.notNull().unique())
    .addColumn('routing_number', 'text', required)
    .addColumn('currency', 'text', required)
    .addColumn('current_minor', 'bigint', required)
    .addColumn('available_minor', 'bigint', required)
    .addColumn('state', 'text', required)
    .addColumn('opened_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .addColumn('revision', 'integer', required)
    .execute();

  await db.schema
    .createTable('banking_transactions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('banking_accounts.id'))
    .addColumn('posted_on', 'text', required)
    .addColumn('occurred_at', 'text', required)
    .addColumn('type', 'text', required)
    .addColumn('amount_minor', 'bigint', required)
    .addColumn('balance_after_minor', 'bigint', required)
    .addColumn('description', 'text', required)
    .addColumn('category', 'text', required)
    .addColumn('transfer_id', 'text')
    .addColumn('sequence', 'bigint', required)
    .execute();
  await db.schema
    .createIndex('banking_transactions_account')
    .on('banking_transactions')
    .columns(['account_id', 'posted_on', 'sequence'])
    .execute();
  // The database itself refuses a second debit or credit for one transfer (exactly-once posting).
  await db.schema
    .createIndex('banking_transactions_transfer')
    .on('banking_transactions')
    .columns(['transfer_id', 'type'])
    .unique()
    .execute();

  await db.schema
    .createTable('banking_transfers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_by', 'text', required)
    .addColumn('client_id', 'text', required)
    .addColumn('source_account_id', 'text', (c) => c.notNull().references('banking_accounts.id'))
    .addColumn('target_account_id', 'text', (c) => c.notNull().references('banking_accounts.id'))
    .addColumn('amount_minor', 'bigint', required)
    .addColumn('currency', 'text', required)
    .addColumn('start_on', 'text', required)
    .addColumn('frequency', 'text', required)
    .addColumn('memo', 'text')
    .addColumn('state', 'text', required)
    .addColumn('failure_reason', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .addColumn('claimed_at', 'text')
    .addColumn('claimed_by', 'text')
    .addColumn('processed_at', 'text')
    .addColumn('revision', 'integer', required)
    .execute();
  await db.schema
    .createIndex('banking_transfers_due')
    .on('banking_transfers')
    .columns(['state', 'start_on'])
    .execute();
  await db.schema
    .createIndex('banking_transfers_source')
    .on('banking_transfers')
    .columns(['source_account_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('banking_idempotency')
    .addColumn('scope', 'text', required)
    .addColumn('idempotency_key', 'text', required)
    .addColumn('request_hash', 'text', required)
    .addColumn('status', 'integer', required)
    .addColumn('response_json', 'text', required)
    .addColumn('created_at', 'text', required)
    .addPrimaryKeyConstraint('banking_idempotency_pk', ['scope', 'idempotency_key'])
    .execute();

  await db.schema
    .createTable('banking_applications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('applicant_id', 'text', required)
    .addColumn('product_id', 'text', (c) => c.notNull().references('banking_products.id'))
    .addColumn('state', 'text', required)
    .addColumn('applicant_json', 'text', required)
    .addColumn('identity_document_json', 'text', required)
    .addColumn('initial_deposit_minor', 'bigint', required)
    .addColumn('currency', 'text', required)
    .addColumn('decision_reason', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('account_id', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('updated_at', 'text', required)
    .addColumn('expires_at', 'text', required)
    .addColumn('revision', 'integer', required)
    .execute();
  await db.schema
    .createIndex('banking_applications_applicant')
    .on('banking_applications')
    .columns(['applicant_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('banking_applications_state')
    .on('banking_applications')
    .columns(['state', 'expires_at'])
    .execute();

  await db.schema
    .createTable('banking_application_documents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('application_id', 'text', (c) => c.notNull().references('banking_applications.id'))
    .addColumn('kind', 'text', required)
    .addColumn('content_type', 'text', required)
    .addColumn('size_bytes', 'integer', required)
    .addColumn('sha256', 'text', required)
    .addColumn('content_sealed', 'text', required)
    .addColumn('uploaded_at', 'text', required)
    .execute();
  await db.schema
    .createIndex('banking_application_documents_application')
    .on('banking_application_documents')
    .column('application_id')
    .execute();
}
