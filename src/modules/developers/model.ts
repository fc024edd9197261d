import { API_SCOPE_NAMES, DEFAULT_SCOPES } from '../identity/index.ts';

/**
 * The developers module's domain types and the enumerated values of its fields (DESIGN.md §4). The `as
 * const` lists are the one source: services validate input against them (`rules.ts`) and migration 007
 * constrains the columns to the same values.
 */

export const MEMBER_ROLES = ['owner', 'admin', 'developer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const APP_KINDS = ['web', 'native', 'spa', 'service'] as const;
/** web: confidential server app; native / spa: public clients; service: back-office (client credentials). */
export type AppKind = (typeof APP_KINDS)[number];

export const APP_STATES = ['pending', 'active', 'suspended', 'deleted'] as const;
export type AppState = (typeof APP_STATES)[number];

export const ENVIRONMENTS = ['sandbox', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Stored key states; `expired` is derived from `expiresAt` at read time. */
export const KEY_STATES = ['pending', 'active', 'suspended', 'revoked'] as const;
export type StoredKeyState = (typeof KEY_STATES)[number];
export type KeyState = StoredKeyState | 'expired';

/** How the token endpoint authenticates an application's OAuth client. */
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const;

/** What a change request asks for (DESIGN.md §5.5): more scopes, production, new redirect URIs. */
export const REQUEST_KINDS = ['scope', 'production', 'redirectUris'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export const REQUEST_STATES = ['pending', 'approved', 'rejected'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** Usage buckets. */
export const USAGE_GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];

/** Every API scope of the platform (DESIGN.md §4): the identity module's catalogue is the one source. */
export const ALL_SCOPES: readonly string[] = API_SCOPE_NAMES;

export { DEFAULT_SCOPES };

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface Member {
  organizationId: string;
  userId: string;
  displayName: string;
  role: MemberRole;
  createdAt: string;
}

export interface Invitation {
  id: string;
  organizationId: string;
  role: MemberRole;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
}

export interface RatePlanRecord {
  id: string;
  name: string;
  perSecond: number;
  burst: number;
  perDay: number;
  abuseExempt: boolean;
}

export interface ClientApplication {
  id: string;
  organizationId: string;
  name: string;
  description: string;
  kind: AppKind;
  clientId: string;
  redirectUris: string[];
  corsOrigins: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: string;
  scopes: string[];
  requestedScopes: string[];
  apis: string[];
  planId: string;
  environment: Environment;
  state: AppState;
  stateReason: string | null;
  firstParty: boolean;
  version: number;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKeyRecord {
  id: string;
  applicationId: string;
  label: string;
  prefix: string;
  last4: string;
  secretHash: string;
  state: StoredKeyState;
  stateReason: string | null;
  expiresAt: string | null;
  rotatedFrom: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Metered answers of one key, API, operation and status in one bucket. */
export interface UsageRow {
  keyId: string;
  applicationId: string;
  api: string;
  operationId: string;
  status: number;
  granularity: UsageGranularity;
  bucket: string;
  count: number;
}

/** A developer-portal session as stored: only the hash of the cookie value. */
export interface PortalSessionRecord {
  idHash: string;
  userId: string;
  username: string;
  scopes: string[];
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
}

/** A change of an application that waits for the institution (one queue for every kind). */
export interface ChangeRequest {
  id: string;
  kind: RequestKind;
  applicationId: string;
  /** Scopes or redirect URIs asked for; `[]` for production. */
  requested: string[];
  requestedBy: string | null;
  createdAt: string;
  state: RequestState;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}
