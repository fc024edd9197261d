import type { Executor } from '../../db/index.ts';
import type { AuditEvent } from '../audit/index.ts';

/** One entitlement: `subject` holds `permissions` on resource `resource`/`resourceId` (`'*'` = institution-wide). */
export interface EntitlementGrant {
  subject: string;
  resource: string;
  resourceId: string;
  permissions: string[];
  /** Why: owner, coOwner, beneficialOwner, authorizedSigner, institution (operator roles) … */
  relationship: string;
}

/** Who changes an entitlement, for the audit record the service writes with the change. */
export type EntitlementActor = AuditEvent['actor'] & { requestId?: string };

/**
 * Administration of entitlements (implemented by the entitlements module, used by banking and the CLI).
 * Every change is audited in the transaction that makes it; `actor` defaults to the system.
 */
export interface EntitlementAdmin {
  /** Adds permissions (merging with existing ones for the same subject/resource). */
  grant(grant: EntitlementGrant, executor?: Executor, actor?: EntitlementActor): Promise<void>;
  /** Removes the given permissions, or all of them when `permissions` is omitted. */
  revoke(
    target: { subject: string; resource: string; resourceId: string; permissions?: string[] },
    executor?: Executor,
    actor?: EntitlementActor,
  ): Promise<void>;
  list(filter: { subject?: string; resource?: string; resourceId?: string }): Promise<EntitlementGrant[]>;
}
