import type { Command } from '../command.ts';
import { abuseCommands } from './abuse.ts';
import { apiKeysCommands } from './api-keys.ts';
import { apisCommands } from './apis.ts';
import { appsCommands } from './apps.ts';
import { callCommand } from './call.ts';
import { clientsCommands } from './clients.ts';
import { entitlementsCommands } from './entitlements.ts';
import { grantsCommands } from './grants.ts';
import { lifetimesCommands } from './lifetimes.ts';
import { loginCommand } from './login.ts';
import { logoutCommand } from './logout.ts';
import { migrateCommand } from './migrate.ts';
import { orgsCommands } from './orgs.ts';
import { plansCommands } from './plans.ts';
import { requestsCommands } from './requests.ts';
import { rolesCommands } from './roles.ts';
import { sandboxCommands } from './sandbox.ts';
import { signingKeysCommands } from './signing-keys.ts';
import { startCommand } from './start.ts';
import { usersCommands } from './users.ts';

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
  ...abuseCommands,
  ...requestsCommands,
  ...entitlementsCommands,
  ...apisCommands,
  ...usersCommands,
  ...rolesCommands,
  ...lifetimesCommands,
  ...clientsCommands,
  ...grantsCommands,
  ...signingKeysCommands,
  ...sandboxCommands,
  loginCommand,
  callCommand,
  logoutCommand,
];
