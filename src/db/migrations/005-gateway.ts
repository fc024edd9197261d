import type { MigrationDb } from '../migration-helpers.ts';

export async function up(_db: MigrationDb): Promise<void> {
  // Tables are added here by the module that owns them.
}
