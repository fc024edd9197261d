export type { EntitlementActor, EntitlementAdmin, EntitlementGrant } from './contract.ts';
export {
  ANY_RESOURCE,
  createEntitlements,
  ENTITLEMENT_TOPIC,
  type EntitlementsExtras,
  type EntitlementsOptions,
} from './entitlements-service.ts';

import type { createEntitlements } from './entitlements-service.ts';

/** Entitlements: who may touch which resource (the gateway's row 8, list filtering, grants and revocations). */
export type Entitlements = ReturnType<typeof createEntitlements>;
