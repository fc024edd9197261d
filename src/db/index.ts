export { type DialectName, type OpenStoreOptions, openStore, type Store } from './database.ts';
export { databaseNow } from './database-time.ts';
export type { Executor } from './executor.ts';
export { type MigrationReport, migrateToLatest, pendingMigrations } from './migrate.ts';
export type { Database } from './schema.ts';
