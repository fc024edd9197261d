import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { createPostgresDatabase, type TestDialect, testDialects } from '../../../test/helpers/test-app.ts';
import { ACTOR_TYPES } from '../../modules/audit/index.ts';
import {
  APP_KINDS,
  APP_STATES,
  ENVIRONMENTS,
  KEY_STATES,
  MEMBER_ROLES,
  TOKEN_ENDPOINT_AUTH_METHODS,
  USAGE_GRANULARITIES,
} from '../../modules/developers/model.ts';
import { ROLE_CATEGORIES, USER_STATUSES } from '../../modules/identity/index.ts';
import { migrateToLatest, openStore, pendingMigrations, type Store } from '../index.ts';
import { ENUMERATED_COLUMNS } from './007-enumerated-columns.ts';
import { migrations } from './index.ts';

const AT = '2026-01-01T00:00:00.000Z';

/** One valid row per constrained table (what the services would write). */
const ROWS: Record<string, Record<string, unknown>> = {
  organization_members: {
    organization_id: 'org_1',
    user_id: 'usr_1',
    display_name: 'owner',
    role: 'owner',
    created_at: AT,
  },
  organization_invitations: {
    id: 'inv_1',
    organization_id: 'org_1',
    role: 'developer',
    token_hash: 'hash',
    created_by: null,
    created_at: AT,
    expires_at: AT,
    accepted_at: null,
    accepted_by: null,
  },
  client_applications: {
    id: 'app_1',
    organization_id: 'org_1',
    name: 'app',
    description: '',
    kind: 'web',
    client_id: 'client_1',
    redirect_uris_json: '[]',
    cors_origins_json: '[]',
    grant_types_json: '[]',
    token_endpoint_auth_method: 'client_secret_basic',
    scopes_json: '[]',
    requested_scopes_json: '[]',
    apis_json: '["*"]',
    plan_id: 'plan_standard',
    environment: 'sandbox',
    state: 'active',
    state_reason: null,
    is_first_party: 0,
    version: 1,
    created_by: null,
    created_at: AT,
    updated_at: AT,
  },
  api_keys: {
    id: 'key_1',
    application_id: 'app_1',
    label: '',
    prefix: 'srk_sand',
    last4: 'abcd',
    secret_hash: 'hash',
    state: 'active',
    state_reason: null,
    expires_at: null,
    rotated_from: null,
    created_by: null,
    created_at: AT,
    updated_at: AT,
  },
  usage_counters: {
    key_id: 'key_1',
    application_id: 'app_1',
    api: 'accounts',
    operation_id: 'getAccounts',
    status: 200,
    granularity: 'day',
    bucket: AT,
    count: 1,
  },
  users: {
    id: 'usr_1',
    username: 'alice',
    display_name: null,
    email: null,
    password_hash: 'phc',
    status: 'active',
    locked_until: null,
    mfa_required: 0,
    totp_secret_sealed: null,
    totp_last_step: null,
    password_changed_at: AT,
    created_at: AT,
    updated_at: AT,
  },
  roles: {
    name: 'auditor',
    category: 'operator',
    description: 'Auditor',
    scopes_json: '[]',
    requires_mfa: 1,
    updated_at: AT,
  },
  audit_log: {
    id: 'aud_1',
    occurred_at: AT,
    actor_type: 'cli',
    actor_id: null,
    action: 'test.done',
    target_type: 'test',
    target_id: null,
    reason: null,
    before_json: null,
    after_json: null,
    request_id: null,
  },
};

/** The lists the services validate with, per constrained column. */
const SERVICE_LISTS: Record<string, Record<string, readonly string[]>> = {
  organization_members: { role: MEMBER_ROLES },
  organization_invitations: { role: MEMBER_ROLES },
  client_applications: {
    kind: APP_KINDS,
    environment: ENVIRONMENTS,
    state: APP_STATES,
    token_endpoint_auth_method: TOKEN_ENDPOINT_AUTH_METHODS,
  },
  api_keys: { state: KEY_STATES },
  usage_counters: { granularity: USAGE_GRANULARITIES },
  users: { status: USER_STATUSES },
  roles: { category: ROLE_CATEGORIES },
  audit_log: { actor_type: ACTOR_TYPES },
};

const COLUMNS = Object.entries(ENUMERATED_COLUMNS).flatMap(([table, columns]) =>
  Object.keys(columns).map((column) => ({ table, column })),
);

async function freshStore(dialect: TestDialect) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-007-'));
  const database = dialect === 'postgres' ? await createPostgresDatabase() : undefined;
  const store = openStore({ databaseUrl: database?.url, dataDir });
  return {
    store,
    databaseUrl: database?.url,
    async close() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

async function migrateTo(store: Store, name: string) {
  const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateTo(name);
  if (result.error) throw result.error;
}

async function insertRows(store: Store) {
  for (const [table, row] of Object.entries(ROWS)) {
    await sql`insert into ${sql.table(table)} (${sql.join(Object.keys(row).map((c) => sql.ref(c)))}) values (${sql.join(Object.values(row))})`.execute(
      store.db,
    );
  }
}

async function snapshot(store: Store) {
  const rows: Record<string, unknown[]> = {};
  for (const table of Object.keys(ROWS)) {
    rows[table] = (await sql`select * from ${sql.table(table)}`.execute(store.db)).rows;
  }
  const indexes =
    store.dialect === 'sqlite'
      ? await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'index' and tbl_name in (${sql.join(Object.keys(ROWS))}) order by name`.execute(
          store.db,
        )
      : await sql<{
          name: string;
        }>`select indexname as name from pg_indexes where tablename in (${sql.join(Object.keys(ROWS))}) order by indexname`.execute(
          store.db,
        );
  return { rows, indexes: indexes.rows.map((r) => r.name) };
}

const setColumn = (store: Store, table: string, column: string, value: string) =>
  sql`update ${sql.table(table)} set ${sql.ref(column)} = ${value}`.execute(store.db);

test('migration 007 allows exactly the values the services validate with', () => {
  assert.deepEqual(ENUMERATED_COLUMNS, SERVICE_LISTS);
});

for (const dialect of testDialects()) {
  describe(`enumerated columns on ${dialect}`, () => {
    let fixture: Awaited<ReturnType<typeof freshStore>>;

    before(async () => {
      fixture = await freshStore(dialect);
      await migrateToLatest(fixture.store, fixture.databaseUrl);
      await insertRows(fixture.store);
    });
    after(() => fixture.close());

    test('the database refuses a value outside the list written directly, in every constrained column', async () => {
      for (const { table, column } of COLUMNS) {
        await assert.rejects(
          setColumn(fixture.store, table, column, 'bogus'),
          /check constraint/i,
          `${table}.${column}`,
        );
      }
      const stored = await sql<{
        environment: string;
      }>`select environment from client_applications`.execute(fixture.store.db);
      assert.deepEqual(stored.rows, [{ environment: 'sandbox' }]);
    });

    test('the database accepts every value of the lists', async () => {
      for (const { table, column } of COLUMNS) {
        for (const value of SERVICE_LISTS[table]?.[column] ?? [])
          await setColumn(fixture.store, table, column, value);
        await setColumn(fixture.store, table, column, String(ROWS[table]?.[column]));
      }
    });
  });

  describe(`migrating an existing ${dialect} store to 007`, () => {
    test('keeps every row and every index, and the unique constraints still hold', async () => {
      const fixture = await freshStore(dialect);
      try {
        await migrateTo(fixture.store, '006-banking');
        await insertRows(fixture.store);
        const before = await snapshot(fixture.store);
        // Up to 007 only: later migrations add columns of their own.
        await migrateTo(fixture.store, '007-enumerated-columns');
        assert.ok(!(await pendingMigrations(fixture.store)).includes('007-enumerated-columns'));
        assert.deepEqual(await snapshot(fixture.store), before);
        await assert.rejects(
          sql`insert into users (id, username, password_hash, status, mfa_required, password_changed_at, created_at, updated_at) values ('usr_2', 'alice', 'phc', 'active', 0, ${AT}, ${AT}, ${AT})`.execute(
            fixture.store.db,
          ),
          /unique/i,
        );
      } finally {
        await fixture.close();
      }
    });

    test('stops at a stored value outside its list, naming it, and changes nothing', async () => {
      const fixture = await freshStore(dialect);
      try {
        await migrateTo(fixture.store, '006-banking');
        await insertRows(fixture.store);
        await setColumn(fixture.store, 'client_applications', 'environment', 'bogus');
        const before = await snapshot(fixture.store);
        await assert.rejects(
          migrateToLatest(fixture.store, fixture.databaseUrl),
          /client_applications\.environment holds "bogus"/,
        );
        assert.equal((await pendingMigrations(fixture.store))[0], '007-enumerated-columns');
        assert.deepEqual(await snapshot(fixture.store), before);
      } finally {
        await fixture.close();
      }
    });
  });
}
