import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, PostgresAdapter } from 'kysely';

/** Migrations get an untyped Kysely: they describe history, not the current schema. */
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current table types.
export type MigrationDb = Kysely<any>;

export function isPostgres(db: MigrationDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** An auto-incrementing integer primary key on both dialects. */
export function withSerialId<T extends string>(
  db: MigrationDb,
  builder: CreateTableBuilder<T, never>,
  name = 'id',
): CreateTableBuilder<T, never> {
  return isPostgres(db)
    ? builder.addColumn(name, 'bigserial', (c) => c.primaryKey())
    : builder.addColumn(name, 'integer', (c) => c.primaryKey().autoIncrement());
}

/** `text not null` — the common case for ids, names and timestamps. */
export const required = (c: ColumnDefinitionBuilder) => c.notNull();
