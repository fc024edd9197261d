import { createHash } from 'node:crypto';
import { type MigrationDb, required } from '../migration-helpers.ts';

/**
 * Authorization-server hardening (issue 10): wrong second-factor codes counted per account in the store
 * (across interactions, sessions and addresses) and the MFA lock they lead to; oidc-provider artifacts
 * whose ids are bearer secrets re-keyed by the id's SHA-256 digest, without copies of it in the payload;
 * a client's ID-token signing algorithm.
 */
export async function up(db: MigrationDb): Promise<void> {
  await concealPayloadIds(db);
  // RS256 ID tokens for clients that ask (OIDC Discovery); null = the default, ES256.
  await db.schema.alterTable('oauth_clients').addColumn('id_token_signed_response_alg', 'text').execute();
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

/** Written out here (not imported): a migration describes history; `oauth/payload-secrets.ts` is today's rule. */
const OWN_ID_MARKER = 'urn:strongroom:own-id';

async function concealPayloadIds(db: MigrationDb): Promise<void> {
  const rows = (await db
    .selectFrom('oidc_payloads')
    .select(['model', 'id', 'payload_json'])
    .where('model', '<>', 'Grant')
    .execute()) as { model: string; id: string; payload_json: string }[];
  for (const row of rows) {
    const payload = JSON.parse(row.payload_json) as Record<string, unknown>;
    const session = payload.session as Record<string, unknown> | undefined;
    if (row.model === 'Interaction' && session) delete session.cookie;
    await db
      .updateTable('oidc_payloads')
      .set({
        id: createHash('sha256').update(row.id).digest('hex'),
        payload_json: JSON.stringify(payload).replaceAll(row.id, OWN_ID_MARKER),
      })
      .where('model', '=', row.model)
      .where('id', '=', row.id)
      .execute();
  }
}
