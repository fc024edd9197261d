import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Migrator } from 'kysely/migration';
import { createPostgresDatabase, testDialects } from '../../../test/helpers/test-app.ts';
import { revealPayload } from '../../modules/oauth/payload-secrets.ts';
import { migrateToLatest, openStore } from '../index.ts';
import { migrations } from './index.ts';

const REFRESH = 'rt_plain_9fK2mQx7LwZ0aBcDeFgHiJkLmNoPqRsTuVwXy01';
const SESSION = 'se_plain_4hT8uVw2XyZ0aBcDeFgHiJkLmNoPqRsTuVwXy02';
const INTERACTION = 'in_plain_7pQ3rSt5UvW0aBcDeFgHiJkLmNoPqRsTuVwXy03';
const GRANT = 'gr_plain_1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX3yZ4';
const digest = (value: string) => createHash('sha256').update(value).digest('hex');

const LEGACY_ROWS = [
  { model: 'RefreshToken', id: REFRESH, payload: { jti: REFRESH, kind: 'RefreshToken', grantId: GRANT } },
  {
    model: 'Session',
    id: SESSION,
    payload: { jti: SESSION, kind: 'Session', uid: 'sess-uid', accountId: 'usr_1' },
  },
  {
    model: 'Interaction',
    id: INTERACTION,
    payload: {
      jti: INTERACTION,
      kind: 'Interaction',
      returnTo: `https://x.test/auth/oauth2/authorize/${INTERACTION}`,
      session: { accountId: 'usr_1', uid: 'sess-uid', cookie: SESSION },
    },
  },
  { model: 'Grant', id: GRANT, payload: { jti: GRANT, kind: 'Grant', accountId: 'usr_1' } },
];

for (const dialect of testDialects()) {
  describe(`migration 010: oidc-provider secrets at rest (${dialect})`, () => {
    test('re-keys bearer-secret rows by digest and leaves no plaintext copy in their payloads', async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-010-'));
      const database = dialect === 'postgres' ? await createPostgresDatabase() : undefined;
      const store = openStore({ databaseUrl: database?.url, dataDir });
      try {
        const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
        const before = await migrator.migrateTo('007-enumerated-columns');
        if (before.error) throw before.error;
        for (const row of LEGACY_ROWS)
          await store.db
            .insertInto('oidc_payloads')
            .values({
              model: row.model,
              id: row.id,
              payload_json: JSON.stringify(row.payload),
              grant_id: null,
              uid: null,
              user_code: null,
              account_id: 'usr_1',
              client_id: null,
              expires_at: null,
              consumed_at: null,
            })
            .execute();
        await migrateToLatest(store, database?.url);

        const rows = await store.db.selectFrom('oidc_payloads').selectAll().orderBy('model').execute();
        const dump = JSON.stringify(rows);
        for (const secret of [REFRESH, SESSION, INTERACTION]) assert.ok(!dump.includes(secret), secret);
        const byModel = new Map(rows.map((row) => [row.model, row]));
        assert.equal(byModel.get('RefreshToken')?.id, digest(REFRESH));
        assert.equal(byModel.get('Grant')?.id, GRANT, 'grant ids are references, kept as they are');
        const refresh = revealPayload(byModel.get('RefreshToken')?.payload_json ?? '', REFRESH);
        assert.deepEqual(refresh, LEGACY_ROWS[0]?.payload);
        const interaction = revealPayload(byModel.get('Interaction')?.payload_json ?? '', INTERACTION);
        assert.equal(interaction.returnTo, `https://x.test/auth/oauth2/authorize/${INTERACTION}`);
        assert.deepEqual(interaction.session, { accountId: 'usr_1', uid: 'sess-uid' });
      } finally {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
        await database?.drop();
      }
    });
  });
}
