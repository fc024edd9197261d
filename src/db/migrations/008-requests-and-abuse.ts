import { sql } from 'kysely';
import { newId } from '../../lib/ids.ts';
import { type MigrationDb, required } from '../migration-helpers.ts';

/**
 * The institution's request queue — scope, production and redirect-URI requests of applications, in one
 * table (DESIGN.md §5.1, §5.5) — and the grants abuse detection revoked, so that distinct users per
 * application are counted across processes. Scope requests kept so far in
 * `client_applications.requested_scopes_json` move into the queue (the column stays, always `[]`).
 */
export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('change_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', required)
    .addColumn('application_id', 'text', required)
    .addColumn('requested_json', 'text', required)
    .addColumn('requested_by', 'text')
    .addColumn('created_at', 'text', required)
    .addColumn('state', 'text', required)
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('reason', 'text')
    .addCheckConstraint('change_requests_kind_check', sql`kind in ('scope', 'production', 'redirectUris')`)
    .addCheckConstraint('change_requests_state_check', sql`state in ('pending', 'approved', 'rejected')`)
    .execute();
  await db.schema
    .createIndex('change_requests_application_state')
    .on('change_requests')
    .columns(['application_id', 'state'])
    .execute();
  await db.schema
    .createIndex('change_requests_state')
    .on('change_requests')
    .columns(['state', 'created_at'])
    .execute();

  await db.schema
    .createTable('abuse_revocations')
    .addColumn('grant_id', 'text', (c) => c.primaryKey())
    .addColumn('application_id', 'text', required)
    .addColumn('key_id', 'text', required)
    .addColumn('user_id', 'text', required)
    .addColumn('revoked_at', 'text', required)
    .execute();
  await db.schema
    .createIndex('abuse_revocations_application')
    .on('abuse_revocations')
    .columns(['application_id', 'revoked_at'])
    .execute();

  const waiting = await db
    .selectFrom('client_applications')
    .select(['id', 'requested_scopes_json', 'updated_at', 'created_by'])
    .where('requested_scopes_json', '!=', '[]')
    .execute();
  for (const row of waiting as {
    id: string;
    requested_scopes_json: string;
    updated_at: string;
    created_by: string | null;
  }[]) {
    await db
      .insertInto('change_requests')
      .values({
        id: newId('crq'),
        kind: 'scope',
        application_id: row.id,
        requested_json: row.requested_scopes_json,
        requested_by: row.created_by,
        created_at: row.updated_at,
        state: 'pending',
      })
      .execute();
  }
  await db.updateTable('client_applications').set({ requested_scopes_json: '[]' }).execute();
}
