export { type DialectName, openStore, type OpenStoreOptions, type Store } from './database.ts';
export { migrateToLatest, type MigrationReport, pendingMigrations } from './migrate.ts';
export type { Database } from './schema.ts';
