import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { createPostgresDatabase, testDialects } from '../../../test/helpers/test-app.ts';
import { migrateToLatest, openStore } from '../index.ts';
import { migrations } from './index.ts';

const AT = '2026-01-01T00:00:00.000Z';

const app = (id: string, requested: string) => ({
  id,
  organization_id: 'org_1',
  name: id,
  description: '',
  kind: 'web',
  client_id: `client_${id}`,
  redirect_uris_json: '[]',
  cors_origins_json: '[]',
  grant_types_json: '[]',
  token_endpoint_auth_method: 'client_secret_basic',
  scopes_json: '["banking/read"]',
  requested_scopes_json: requested,
  apis_json: '["*"]',
  plan_id: 'plan_standard',
  environment: 'sandbox',
  state: 'active',
  state_reason: null,
  is_first_party: 0,
  version: 1,
  created_by: 'usr_dev',
  created_at: AT,
  updated_at: AT,
});

for (const dialect of testDialects()) {
  describe(`migration 008 on ${dialect}`, () => {
    test('moves scope requests kept on applications into the request queue', async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-008-'));
      const database = dialect === 'postgres' ? await createPostgresDatabase() : undefined;
      const store = openStore({ databaseUrl: database?.url, dataDir });
      try {
        const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
        const result = await migrator.migrateTo('007-enumerated-columns');
        if (result.error) throw result.error;
        for (const row of [app('app_waiting', '["admin/read","data/read"]'), app('app_content', '[]')]) {
          await sql`insert into client_applications (${sql.join(Object.keys(row).map((c) => sql.ref(c)))}) values (${sql.join(Object.values(row))})`.execute(
            store.db,
          );
        }
        await migrateToLatest(store, database?.url);
        const queued = await store.db.selectFrom('change_requests').selectAll().execute();
        assert.equal(queued.length, 1);
        assert.equal(queued[0]?.application_id, 'app_waiting');
        assert.equal(queued[0]?.kind, 'scope');
        assert.equal(queued[0]?.state, 'pending');
        assert.deepEqual(JSON.parse(queued[0]?.requested_json ?? ''), ['admin/read', 'data/read']);
        assert.equal(queued[0]?.requested_by, 'usr_dev');
        const columns = await store.db
          .selectFrom('client_applications')
          .select('requested_scopes_json')
          .execute();
        assert.deepEqual(
          columns.map((c) => c.requested_scopes_json),
          ['[]', '[]'],
        );
        await assert.rejects(
          sql`insert into change_requests (id, kind, application_id, requested_json, created_at, state) values ('x', 'bogus', 'a', '[]', ${AT}, 'pending')`.execute(
            store.db,
          ),
        );
      } finally {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
        await database?.drop();
      }
    });
  });
}
