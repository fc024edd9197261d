import type { Command } from '../command.ts';
import { apiKeysCommands } from './api-keys.ts';
import { apisCommands } from './apis.ts';
import { appsCommands } from './apps.ts';
import { entitlementsCommands } from './entitlements.ts';
import { migrateCommand } from './migrate.ts';
import { orgsCommands } from './orgs.ts';
import { plansCommands } from './plans.ts';
import { startCommand } from './start.ts';

/**
 * Every command of the `strongroom` CLI. Modules add their administration commands here
 * (one import and one entry each), named `<noun> <verb>` (e.g. `users add`).
 */
export const commands: Command[] = [
  startCommand,
  migrateCommand,
  ...orgsCommands,
  ...appsCommands,
  ...apiKeysCommands,
  ...plansCommands,
  ...entitlementsCommands,
  ...apisCommands,
];
