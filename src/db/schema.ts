import type { BankingTables } from './tables/banking.ts';
import type { DevelopersTables } from './tables/developers.ts';
import type { FoundationTables } from './tables/foundation.ts';
import type { GatewayTables } from './tables/gateway.ts';
import type { IdentityTables } from './tables/identity.ts';
import type { OauthTables } from './tables/oauth.ts';
import type { SandboxTables } from './tables/sandbox.ts';

/** The whole schema as Kysely sees it: each module declares its own tables in `tables/<module>.ts`. */
export type Database = FoundationTables &
  IdentityTables &
  OauthTables &
  DevelopersTables &
  GatewayTables &
  BankingTables &
  SandboxTables;
