/** Tables owned by the developers module (see the conventions in foundation.ts). */

/** A company or other entity that builds client applications. */
export interface OrganizationsTable {
  id: string;
  name: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * A user's membership of an organization. Enumerated columns (here `role`) are constrained to their values
 * by migration 007 on both dialects; the services validate first, with the lists in `developers/model.ts`.
 */
export interface OrganizationMembersTable {
  organization_id: string;
  user_id: string;
  /** Name shown in member lists (the username at the time of joining). */
  display_name: string;
  role: string;
  created_at: string;
}

/** An invitation link; only the SHA-256 hash of its token is stored. */
export interface OrganizationInvitationsTable {
  id: string;
  organization_id: string;
  /** `owner`, `admin` or `developer`. */
  role: string;
  token_hash: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
}

/** A rate plan: sustained rate, burst and daily quota; `is_abuse_exempt` for load-test plans. */
export interface RatePlansTable {
  id: string;
  name: string;
  per_second: number;
  burst: number;
  per_day: number;
  is_abuse_exempt: number;
  created_at: string;
}

/** A client application, registered as an OAuth client of the authorization server (`client_id`). */
export interface ClientApplicationsTable {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  /** `web`, `native`, `spa`, `service` (constrained). */
  kind: string;
  client_id: string;
  redirect_uris_json: string;
  cors_origins_json: string;
  grant_types_json: string;
  /** `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (constrained). */
  token_endpoint_auth_method: string;
  /** Scopes the application may be granted (approved). */
  scopes_json: string;
  /** Scopes asked for beyond the default set, awaiting the institution's approval. */
  requested_scopes_json: string;
  /** API names the application may call, or `["*"]`. */
  apis_json: string;
  plan_id: string;
  /** `sandbox` or `production` (constrained). */
  environment: string;
  /** `pending`, `active`, `suspended`, `deleted` (constrained). */
  state: string;
  state_reason: string | null;
  is_first_party: number;
  /** Incremented on every change; the ETag. */
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** An API key: only its SHA-256 hash, the visible prefix and the last four characters are stored. */
export interface ApiKeysTable {
  id: string;
  application_id: string;
  label: string;
  prefix: string;
  last4: string;
  secret_hash: string;
  /** `pending`, `active`, `suspended`, `revoked` (constrained; `expired` is derived from `expires_at`). */
  state: string;
  state_reason: string | null;
  expires_at: string | null;
  /** The key this one replaced by rotation. */
  rotated_from: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** Metered answers per key, API, operation and status, in minute/hour/day buckets. */
export interface UsageCountersTable {
  key_id: string;
  application_id: string;
  api: string;
  operation_id: string;
  status: number;
  /** `minute`, `hour` or `day` (constrained). */
  granularity: string;
  /** Start of the bucket, RFC 3339 UTC. */
  bucket: string;
  count: number;
}

/** Developer-portal sessions; only the hash of the cookie value is stored. */
export interface PortalSessionsTable {
  id_hash: string;
  user_id: string;
  username: string;
  scopes_json: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

/** A change to an application waiting for (or decided by) the institution: one queue for every kind. */
export interface ChangeRequestsTable {
  id: string;
  /** `scope`, `production` or `redirectUris` (constrained). */
  kind: string;
  application_id: string;
  /** What is asked for: scopes or redirect URIs (a JSON list), or `{}` for production. */
  requested_json: string;
  requested_by: string | null;
  created_at: string;
  /** `pending`, `approved`, `rejected` (constrained). */
  state: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

/** A grant revoked by abuse detection (counted per application to decide a key's suspension). */
export interface AbuseRevocationsTable {
  grant_id: string;
  application_id: string;
  key_id: string;
  user_id: string;
  revoked_at: string;
}

export interface DevelopersTables {
  change_requests: ChangeRequestsTable;
  abuse_revocations: AbuseRevocationsTable;
  organizations: OrganizationsTable;
  organization_members: OrganizationMembersTable;
  organization_invitations: OrganizationInvitationsTable;
  rate_plans: RatePlansTable;
  client_applications: ClientApplicationsTable;
  api_keys: ApiKeysTable;
  usage_counters: UsageCountersTable;
  portal_sessions: PortalSessionsTable;
}
