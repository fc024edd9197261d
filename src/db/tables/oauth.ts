/** Tables owned by the oauth module (see the conventions in foundation.ts). */

export interface OauthClientsTable {
  client_id: string;
  name: string;
  application_id: string | null;
  /** `confidential` | `public` | `service`. */
  kind: string;
  token_endpoint_auth_method: string;
  /** JSON arrays / objects. */
  redirect_uris_json: string;
  post_logout_redirect_uris_json: string;
  grant_types_json: string;
  allowed_scopes_json: string;
  jwks_json: string | null;
  lifetimes_json: string;
  is_first_party: number;
  organization_name: string | null;
  is_enabled: number;
  /** SHA-256 (hex) of the current secret; secrets are 256-bit random, so a fast hash is sufficient. */
  secret_hash: string | null;
  /** The previous secret during a rotation overlap, valid until `previous_secret_expires_at`. */
  previous_secret_hash: string | null;
  previous_secret_expires_at: string | null;
  /** `RS256` for clients that need it (OIDC Discovery); null = ES256. Migration 010. */
  id_token_signed_response_alg: string | null;
  created_at: string;
  updated_at: string;
}

/** oidc-provider's artifacts (sessions, interactions, grants, codes, refresh tokens…) by model and id. */
export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload_json: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  account_id: string | null;
  client_id: string | null;
  /** Epoch seconds; null = no expiry. */
  expires_at: number | null;
  consumed_at: number | null;
}

/** Denylist of revoked grants (`kind` grant) and token ids (`kind` jti), kept until their tokens expire. */
export interface RevokedTokensTable {
  kind: string;
  id: string;
  revoked_at: string;
  /** Epoch seconds after which no token of it can be valid any more. */
  expires_at: number;
  reason: string | null;
}

/** Signing keys (ES256, `use` sig) and cookie keys (`use` cookie), sealed with the KEK. */
export interface OauthKeysTable {
  kid: string;
  use: string;
  alg: string;
  sealed_key: string;
  created_at: string;
  /** Set when replaced: still published (and accepted) until this time. */
  retired_at: string | null;
  /** Epoch seconds after which the key is no longer published. */
  unpublish_at: number | null;
}

export interface OauthTables {
  oauth_clients: OauthClientsTable;
  oidc_payloads: OidcPayloadsTable;
  revoked_tokens: RevokedTokensTable;
  oauth_keys: OauthKeysTable;
}
