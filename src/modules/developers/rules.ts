import { AppError, type ValidationIssue } from '../../errors/index.ts';
import { parseIso } from '../../lib/clock.ts';
import type { OAuthClientSpec } from '../oauth/contract.ts';
import {
  ALL_SCOPES,
  type ApiKeyRecord,
  type AppKind,
  type AppState,
  DEFAULT_SCOPES,
  type KeyState,
  type StoredKeyState,
} from './model.ts';

/**
 * The developers module's rules as pure functions: the state machines, the enumerated values a field may
 * take, what a developer may change, how asked-for scopes split, and what a redirect URI or CORS origin
 * must look like. No I/O here: services call these before they open a transaction.
 */

// ---- state machines (DESIGN.md §4) ------------------------------------------------------------------

/** The state a caller sees: a key past its expiry is `expired` whatever its stored state (unless revoked). */
export function effectiveKeyState(key: Pick<ApiKeyRecord, 'state' | 'expiresAt'>, nowMs: number): KeyState {
  if (key.state === 'revoked') return 'revoked';
  if (key.expiresAt !== null && parseIso(key.expiresAt) <= nowMs) return 'expired';
  return key.state;
}

/** Allowed key transitions: pending → active ⇄ suspended → revoked; expired and revoked are final. */
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

/** 409 unless `from` → `to` is an allowed application transition. */
export function assertAppTransition(from: AppState, to: AppState): void {
  if (!APP_TRANSITIONS[from].includes(to)) {
    throw new AppError('conflict', { detail: `An application that is ${from} cannot become ${to}.` });
  }
}

// ---- enumerated values ------------------------------------------------------------------------------

/**
 * The value if it is one of `allowed`, else a 400 naming the field and the allowed values. Every
 * enumerated field a caller can set goes through this before it reaches the database (whose CHECK
 * constraints, migration 007, are the second line).
 */
export function oneOf<T extends string>(
  field: string,
  allowed: readonly T[],
  value: unknown,
  where: ValidationIssue['in'] = 'body',
): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const message = `must be one of ${allowed.join(', ')}`;
  throw new AppError('badRequest', {
    detail: `${field} ${message}.`,
    errors: [{ in: where, name: field, message }],
  });
}

/** `oneOf` for an optional field: undefined stays undefined. */
export function optionalOneOf<T extends string>(
  field: string,
  allowed: readonly T[],
  value: unknown,
): T | undefined {
  return value === undefined ? undefined : oneOf(field, allowed, value);
}

// ---- what a developer may change ------------------------------------------------------------------

/** Fields of an application only the institution may set (DESIGN.md §4); developers get a 400. */
export const PRIVILEGED_FIELDS = [
  'state',
  'stateReason',
  'environment',
  'ratePlan',
  'organizationId',
] as const;
/** Fields of a registration only the institution may set. */
export const PRIVILEGED_CREATE_FIELDS = [
  'environment',
  'ratePlan',
  'state',
  'firstParty',
  'clientId',
] as const;

/** 400 (mass assignment) when a non-institution caller sets any of `fields`. */
export function rejectPrivileged(fields: readonly string[], institution: boolean): void {
  if (institution || fields.length === 0) return;
  throw new AppError('badRequest', {
    detail: `These fields are read-only: ${fields.join(', ')}. To get more scopes, ask for them in "scopes"; the institution approves.`,
    errors: fields.map((name) => ({ in: 'body' as const, name, message: 'is read-only' })),
    reason: 'massAssignment',
  });
}

/** The names of `fields` that `input` sets. */
export function fieldsSet<K extends string>(input: object, fields: readonly K[]): K[] {
  const values = input as Partial<Record<K, unknown>>;
  return fields.filter((field) => values[field] !== undefined);
}

// ---- scopes -----------------------------------------------------------------------------------------

/**
 * Split asked-for scopes into those granted now and those that wait for the institution. The institution
 * gets what it asks for; a developer keeps scopes already granted and gets the default set, and anything
 * else becomes a request.
 */
export function splitScopes(
  asked: readonly string[],
  institution: boolean,
  alreadyGranted: readonly string[] = [],
): { scopes: string[]; requested: string[] } {
  const unknown = asked.filter((s) => !ALL_SCOPES.includes(s));
  if (unknown.length > 0) {
    throw new AppError('badRequest', {
      detail: `Unknown scope(s): ${unknown.join(', ')}.`,
      errors: [{ in: 'body', name: 'scopes', message: `unknown: ${unknown.join(', ')}` }],
    });
  }
  const unique = [...new Set(asked)];
  if (institution) return { scopes: unique, requested: [] };
  const grantable = (s: string) => DEFAULT_SCOPES.includes(s) || alreadyGranted.includes(s);
  return { scopes: unique.filter(grantable), requested: unique.filter((s) => !grantable(s)) };
}

// ---- OAuth client shape of an application kind --------------------------------------------------------

export function oauthKind(kind: AppKind): OAuthClientSpec['kind'] {
  return kind === 'web' ? 'confidential' : kind === 'service' ? 'service' : 'public';
}

export function grantTypesFor(kind: AppKind): OAuthClientSpec['grantTypes'] {
  return kind === 'service' ? ['client_credentials'] : ['authorization_code', 'refresh_token'];
}

export function isPublicKind(kind: AppKind): boolean {
  return kind === 'native' || kind === 'spa';
}

// ---- redirect URIs, CORS origins, API names ---------------------------------------------------------

const API_NAME = /^(\*|[A-Za-z][A-Za-z0-9_-]{0,63})$/;
const PRIVATE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:\/[^/]/;

function isLoopbackIp(hostname: string) {
  return hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Exact redirect URIs: https, loopback http or a private-use scheme for native apps; no fragments. */
export function validateRedirectUris(kind: AppKind, uris: readonly string[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (uris.length > 10) issues.push({ in: 'body', name: 'redirectUris', message: 'at most 10' });
  if (kind !== 'service' && uris.length === 0) {
    issues.push({ in: 'body', name: 'redirectUris', message: 'at least one redirect URI is required' });
  }
  if (kind === 'service' && uris.length > 0) {
    issues.push({ in: 'body', name: 'redirectUris', message: 'service applications have no redirect URIs' });
  }
  for (const [i, uri] of uris.entries()) {
    const message = redirectUriProblem(kind, uri);
    if (message) issues.push({ in: 'body', name: `redirectUris.${i}`, message });
  }
  return issues;
}

function redirectUriProblem(kind: AppKind, uri: string): string | undefined {
  if (uri.length > 2000) return 'is too long';
  if (uri.includes('#')) return 'must not contain a fragment';
  if (kind === 'native' && PRIVATE_SCHEME.test(uri)) return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (url.username || url.password) return 'must not contain credentials';
  // Redirect URIs are compared as exact strings at the authorization endpoint: a scheme or host written
  // in another case than the canonical one (`HTTPS://X`) could never match, or match only by accident.
  if (!uri.startsWith(`${url.protocol}//${url.host}`)) {
    return 'must be written in canonical form (lower-case scheme and host)';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && kind === 'native' && isLoopbackIp(url.hostname)) return undefined;
  return 'must use https (http only for 127.0.0.1 / [::1] loopback redirects of native apps)';
}

export function validateCorsOrigins(kind: AppKind, origins: readonly string[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (origins.length > 0 && (kind === 'service' || kind === 'native')) {
    issues.push({ in: 'body', name: 'corsOrigins', message: 'only browser applications have CORS origins' });
  }
  for (const [i, origin] of origins.entries()) {
    const message = originProblem(origin);
    if (message) issues.push({ in: 'body', name: `corsOrigins.${i}`, message });
  }
  return issues;
}

function originProblem(origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'is not an origin';
  }
  if (url.origin !== origin) return 'must be an exact origin such as https://app.example';
  const local = isLoopbackIp(url.hostname) || url.hostname === 'localhost';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return 'must use https';
  return undefined;
}

/** The institution's own APIs (`admin/full` only): no application of a developer subscribes to them. */
export const INSTITUTION_APIS: readonly string[] = ['admin', 'users'];

/**
 * API names an application may call: `*` for all, or names of APIs the gateway serves (`known`). The
 * institution's own APIs are reserved to the institution's applications.
 */
export function validateApiNames(
  apis: readonly string[],
  known: readonly string[],
  institution: boolean,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [i, api] of apis.entries()) {
    const name = `apis.${i}`;
    if (!API_NAME.test(api)) issues.push({ in: 'body', name, message: 'is not an API name' });
    else if (INSTITUTION_APIS.includes(api) && !institution)
      issues.push({ in: 'body', name, message: "is reserved to the institution's own applications" });
    else if (api !== '*' && !known.includes(api) && !INSTITUTION_APIS.includes(api))
      issues.push({ in: 'body', name, message: 'is not an API of this institution' });
  }
  return issues;
}
