import type { EntitlementService } from '../gateway/contract.ts';
import type { ModuleContext } from '../module-context.ts';
import type { EntitlementAdmin } from './contract.ts';

export type { EntitlementAdmin, EntitlementGrant } from './contract.ts';

/** Entitlements: who may touch which resource. (Scaffold: the entitlements module fills this in.) */
export function createEntitlements(_context: ModuleContext): EntitlementService & EntitlementAdmin {
  const notBuilt = async (): Promise<never> => {
    throw new Error('entitlements module not built yet');
  };
  return { has: notBuilt, ids: notBuilt, grant: notBuilt, revoke: notBuilt, list: notBuilt };
}

export type Entitlements = ReturnType<typeof createEntitlements>;
