import type { FastifyInstance } from 'fastify';
import type { EntitlementAdmin } from '../modules/entitlements/contract.ts';
import type { ApiModule, EntitlementService } from '../modules/gateway/contract.ts';
import type { Identity } from '../modules/identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../modules/module-context.ts';

/**
 * The demo institution's digital banking APIs (accounts, transactions, transfers, products, account
 * applications), the transfer processor and the /demo/ browser client. (Scaffold: filled in by banking.)
 */
export function createBanking(
  _context: ModuleContext,
  _deps: { entitlements: EntitlementService & EntitlementAdmin; identity: Identity },
) {
  const apis: ApiModule[] = [];
  const demoSeeder: DemoSeeder = { name: 'banking', async seed() {} };
  return {
    apis,
    demoSeeder,
    register(_app: FastifyInstance): void {},
    start(): void {},
    async stop(): Promise<void> {},
  };
}

export type Banking = ReturnType<typeof createBanking>;
