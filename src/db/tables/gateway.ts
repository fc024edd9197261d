/** Tables owned by the gateway and entitlements modules (see the conventions in foundation.ts). */

/**
 * One entitlement: `subject` (a user id, or a client id for client-credentials callers) holds the
 * permissions on resource `resource`/`resource_id`; `resource_id` `'*'` is an institution-wide grant.
 * Unique per (subject, resource, resource_id): granting again merges permissions.
 */
export interface EntitlementsTable {
  id: string;
  subject: string;
  resource: string;
  resource_id: string;
  /** JSON array of permission names, sorted. */
  permissions_json: string;
  /** owner, coOwner, beneficialOwner, authorizedSigner, institution … */
  relationship: string;
  created_at: string;
  updated_at: string;
}

/**
 * Key material of the gateway (the key that signs identity assertions for upstream APIs), sealed with
 * the key-encryption key so every instance shares it.
 */
export interface GatewayKeysTable {
  kid: string;
  /** `identity` — what the key is for. */
  purpose: string;
  /** Sealed private JWK (JSON). */
  private_sealed: string;
  /** Public JWK (JSON). */
  public_json: string;
  created_at: string;
}

export interface GatewayTables {
  entitlements: EntitlementsTable;
  gateway_keys: GatewayKeysTable;
}
