import { API_SCOPE_NAMES, DEFAULT_SCOPES } from '../identity/index.ts';
/** The developers module's domain types and the rules of its state machines (DESIGN.md §4). */

export const MEMBER_ROLES = ['owner', 'admin', 'developer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const APP_KINDS = ['web', 'native', 'spa', 'service'] as const;
/** web: confidential server app; native / spa: public clients; service: back-office (client credentials). */
export type AppKind = (typeof APP_KINDS)[number];

export const APP_STATES = ['pending', 'active', 'suspended', 'deleted'] as const;
export type AppState = (typeof APP_STATES)[number];

export const ENVIRONMENTS = ['sandbox', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Stored states; `expired` is derived from `expiresAt` at read time. */
export type StoredKeyState = 'pending' | 'active' | 'suspended' | 'revoked';
export type KeyState = StoredKeyState | 'expired';

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

/** The state a caller sees: a key past its expiry is `expired` whatever its stored state (unless revoked). */
export function effectiveKeyState(key: Pick<ApiKeyRecord, 'state' | 'expiresAt'>, nowMs: number): KeyState {
  if (key.state === 'revoked') return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= nowMs) return 'expired';
  return key.state;
}

/** Allowed key transitions (DESIGN.md §4): pending → active ⇄ suspended → revoked; expired and revoked are final. */
export const KEY_TRANSITIONS: Record<KeyState, readonly StoredKeyState[]> = {
  pending: ['active', 'revoked'],
  active: ['suspended', 'revoked'],
  suspended: ['active', 'revoked'],
  revoked: [],
  expired: [],
};

/** Allowed application transitions: pending → active ⇄ suspended → deleted (any live state may be deleted). */
export const APP_TRANSITIONS: Record<AppState, readonly AppState[]> = {
  pending: ['active', 'deleted'],
  active: ['suspended', 'deleted'],
  suspended: ['active', 'deleted'],
  deleted: [],
};
