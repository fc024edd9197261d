import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** One entitlement: `subject` holds `permissions` on resource `resource`/`resourceId` (`'*'` = institution-wide). */
export interface EntitlementGrant {
  subject: string;
  resource: string;
  resourceId: string;
  permissions: string[];
  /** Why: owner, coOwner, beneficialOwner, authorizedSigner, institution (operator roles) … */
  relationship: string;
}

/** Administration of entitlements (implemented by the entitlements module, used by banking and the CLI). */
export interface EntitlementAdmin {
  /** Adds permissions (merging with existing ones for the same subject/resource). */
  grant(grant: EntitlementGrant, executor?: Executor): Promise<void>;
  /** Removes the given permissions, or all of them when `permissions` is omitted. */
  revoke(
    target: { subject: string; resource: string; resourceId: string; permissions?: string[] },
    executor?: Executor,
  ): Promise<void>;
  list(filter: { subject?: string; resource?: string; resourceId?: string }): Promise<EntitlementGrant[]>;
}
