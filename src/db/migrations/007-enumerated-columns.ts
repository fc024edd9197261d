import { sql } from 'kysely';
import { isPostgres, type MigrationDb } from '../migration-helpers.ts';

/**
 * CHECK constraints on the enumerated columns of the developers, identity and audit tables, so a value a
 * service failed to validate can never be stored. The values are written out here (a migration describes
 * history; it must not follow later edits of the code's lists); a test checks they still equal the lists
 * the services validate with.
 *
 * Rows holding another value stop the migration with a message naming them: guessing a replacement for
 * an unknown environment or state would be worse than asking an operator.
 */
export const ENUMERATED_COLUMNS: Record<string, Record<string, readonly string[]>> = {
  organization_members: { role: ['owner', 'admin', 'developer'] },
  organization_invitations: { role: ['owner', 'admin', 'developer'] },
  client_applications: {
    kind: ['web', 'native', 'spa', 'service'],
    environment: ['sandbox', 'production'],
    state: ['pending', 'active', 'suspended', 'deleted'],
    token_endpoint_auth_method: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  },
  api_keys: { state: ['pending', 'active', 'suspended', 'revoked'] },
  usage_counters: { granularity: ['minute', 'hour', 'day'] },
  users: { status: ['active', 'disabled', 'locked'] },
  roles: { category: ['customer', 'operator', 'system'] },
  audit_log: { actor_type: ['user', 'client', 'system', 'cli'] },
};

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;

function checkSql(table: string, column: string, values: readonly string[]): string {
  return `constraint ${quoteIdentifier(`${table}_${column}_check`)} check (${quoteIdentifier(column)} in (${values.map(quoteLiteral).join(', ')}))`;
}

/** Refuse to go on when stored rows hold values outside the lists, naming table, column and values. */
async function assertNoStrayValues(db: MigrationDb): Promise<void> {
  const problems: string[] = [];
  for (const [table, columns] of Object.entries(ENUMERATED_COLUMNS)) {
    for (const [column, values] of Object.entries(columns)) {
      const { rows } = await sql<{
        value: string;
      }>`select distinct ${sql.ref(column)} as value from ${sql.table(table)} where ${sql.ref(column)} not in (${sql.join(values)})`.execute(
        db,
      );
      if (rows.length > 0) {
        problems.push(
          `${table}.${column} holds ${rows.map((r) => JSON.stringify(r.value)).join(', ')} (allowed: ${values.join(', ')})`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `stored values outside their allowed sets; correct these rows, then migrate again: ${problems.join('; ')}`,
    );
  }
}

/**
 * SQLite cannot add a constraint to an existing table: rebuild it (SQLite's documented procedure) from its
 * own stored definition plus the checks, copy every row, swap the tables and recreate the indexes.
 */
async function rebuildWithChecks(db: MigrationDb, table: string, checks: string[]): Promise<void> {
  const definition = await sql<{
    sql: string;
  }>`select sql from sqlite_master where type = 'table' and name = ${table}`.execute(db);
  const createSql = definition.rows[0]?.sql;
  if (!createSql) throw new Error(`table ${table} not found`);
  const indexes = await sql<{
    sql: string;
  }>`select sql from sqlite_master where type = 'index' and tbl_name = ${table} and sql is not null`.execute(
    db,
  );
  const temporary = `${table}__007`;
  const head = /^create table\s+("[^"]+"|\S+)\s*\(/i.exec(createSql);
  const end = createSql.lastIndexOf(')');
  if (!head || end < head[0].length) throw new Error(`cannot read the definition of ${table}`);
  const body = createSql.slice(head[0].length, end);
  const rebuilt = `create table ${quoteIdentifier(temporary)} (${body}, ${checks.join(', ')})`;
  await sql.raw(rebuilt).execute(db);
  await sql
    .raw(`insert into ${quoteIdentifier(temporary)} select * from ${quoteIdentifier(table)}`)
    .execute(db);
  await sql.raw(`drop table ${quoteIdentifier(table)}`).execute(db);
  await sql.raw(`alter table ${quoteIdentifier(temporary)} rename to ${quoteIdentifier(table)}`).execute(db);
  for (const index of indexes.rows) await sql.raw(index.sql).execute(db);
}

export async function up(db: MigrationDb): Promise<void> {
  if (isPostgres(db)) {
    // Migrations run in one transaction on PostgreSQL: a failure leaves the schema as it was.
    await assertNoStrayValues(db);
    for (const [table, columns] of Object.entries(ENUMERATED_COLUMNS)) {
      for (const [column, values] of Object.entries(columns)) {
        await sql
          .raw(`alter table ${quoteIdentifier(table)} add ${checkSql(table, column, values)}`)
          .execute(db);
      }
    }
    return;
  }
  // SQLite DDL is not wrapped by the migrator: one transaction makes the rebuilds all-or-nothing.
  await db.transaction().execute(async (trx) => {
    await assertNoStrayValues(trx);
    for (const [table, columns] of Object.entries(ENUMERATED_COLUMNS)) {
      const checks = Object.entries(columns).map(([column, values]) => checkSql(table, column, values));
      await rebuildWithChecks(trx, table, checks);
    }
  });
}
