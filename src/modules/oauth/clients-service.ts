import type { Executor } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { safeEqualHex, sha256Hex } from '../../lib/hash.ts';
import { newId, randomBase62 } from '../../lib/ids.ts';
import { isApiScope } from '../identity/index.ts';
import type { ModuleContext } from '../module-context.ts';
import { type ClientRow, clientsRepository as repository } from './clients-repository.ts';
import {
  ID_TOKEN_SIGNING_ALGS,
  type IdTokenSigningAlg,
  type OAuthClientInfo,
  type OAuthClientSpec,
  type OAuthClients,
} from './contract.ts';
import { type Grants, TOPICS } from './grants-service.ts';
import { type ClientLifetimes, LIFETIME_LIMITS } from './lifetimes.ts';

const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);
const AUTH_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);
/** The lifetimes a client may override (within the institution-wide limits). */
const CLIENT_LIFETIMES: ReadonlySet<string> = new Set<keyof ClientLifetimes>([
  'accessToken',
  'refreshTokenIdle',
  'refreshTokenAbsolute',
  'code',
]);

/** Client metadata in oidc-provider's vocabulary, plus our own `urn:strongroom:*` properties. */
export interface ProviderClientMetadata {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: string;
  application_type: 'web' | 'native';
  id_token_signed_response_alg: string;
  client_secret?: string;
  jwks?: { keys: Record<string, unknown>[] };
  'urn:strongroom:kind': string;
  'urn:strongroom:first_party': boolean;
  'urn:strongroom:organization': string | null;
  'urn:strongroom:allowed_scopes': string[];
  'urn:strongroom:lifetimes': Record<string, number>;
}

function invalid(detail: string, name: string): AppError {
  return new AppError('badRequest', { detail, errors: [{ in: 'body', name, message: detail }] });
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Exact redirect URIs: https, or http on a loopback address for native (public) clients; no fragment. */
function validateRedirectUri(value: string, kind: OAuthClientSpec['kind'], platformOrigin?: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${value} is not an absolute URL.`, 'redirectUris');
  }
  if (url.hash || value.includes('#'))
    throw invalid('A redirect URI must not contain a fragment.', 'redirectUris');
  if (url.username || url.password)
    throw invalid('A redirect URI must not contain credentials.', 'redirectUris');
  if (value.includes('*')) throw invalid('Wildcards are not allowed in redirect URIs.', 'redirectUris');
  if (url.protocol === 'https:') return;
  // The platform's own pages (portal, /demo/) follow its public URL, which is plain http only when a
  // TLS-terminating proxy or a loopback development setup says so.
  if (platformOrigin && url.origin === platformOrigin) return;
  if (url.protocol === 'http:' && kind === 'public' && isLoopbackHost(url.hostname)) return;
  throw invalid(
    'Redirect URIs must use https (http only on 127.0.0.1 or [::1] for native apps).',
    'redirectUris',
  );
}

function validateSpec(spec: OAuthClientSpec, platformOrigin: string): void {
  if (!spec.name || spec.name.length > 200)
    throw invalid('The client needs a name of 1–200 characters.', 'name');
  if (!['confidential', 'public', 'service'].includes(spec.kind))
    throw invalid('Unknown client kind.', 'kind');
  if (!AUTH_METHODS.has(spec.tokenEndpointAuthMethod))
    throw invalid('Unsupported token endpoint authentication method.', 'tokenEndpointAuthMethod');
  if ((spec.kind === 'public') !== (spec.tokenEndpointAuthMethod === 'none'))
    throw invalid('Public clients (and only they) use the `none` method.', 'tokenEndpointAuthMethod');
  if (spec.tokenEndpointAuthMethod === 'private_key_jwt' && !spec.jwks?.keys?.length)
    throw invalid('private_key_jwt needs the public keys (jwks).', 'jwks');
  if (!spec.grantTypes.length || spec.grantTypes.some((g) => !GRANT_TYPES.has(g)))
    throw invalid('Unsupported grant type.', 'grantTypes');
  if (spec.kind === 'public' && spec.grantTypes.includes('client_credentials'))
    throw invalid('Public clients cannot use client credentials.', 'grantTypes');
  if (spec.grantTypes.includes('authorization_code') && spec.redirectUris.length === 0)
    throw invalid('The authorization code flow needs at least one redirect URI.', 'redirectUris');
  for (const uri of spec.redirectUris) validateRedirectUri(uri, spec.kind, platformOrigin);
  for (const uri of spec.postLogoutRedirectUris ?? []) validateRedirectUri(uri, spec.kind, platformOrigin);
  for (const scope of spec.allowedScopes)
    if (!isApiScope(scope)) throw invalid(`Unknown scope ${scope}.`, 'allowedScopes');
  validateLifetimes(spec.lifetimes ?? {});
  if (
    spec.idTokenSignedResponseAlg !== undefined &&
    !(ID_TOKEN_SIGNING_ALGS as readonly string[]).includes(spec.idTokenSignedResponseAlg)
  )
    throw invalid(
      `ID tokens are signed with ${ID_TOKEN_SIGNING_ALGS.join(' or ')}.`,
      'idTokenSignedResponseAlg',
    );
}

function validateLifetimes(lifetimes: Record<string, number | undefined>): void {
  for (const [name, value] of Object.entries(lifetimes)) {
    const limits = CLIENT_LIFETIMES.has(name) ? LIFETIME_LIMITS[name as keyof ClientLifetimes] : undefined;
    if (!limits) throw invalid(`Unknown lifetime ${name}.`, 'lifetimes');
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < limits[0] || value > limits[1])
      throw invalid(`${name} must be an integer between ${limits[0]} and ${limits[1]} seconds.`, 'lifetimes');
  }
}

function newSecret(): string {
  // 43 base62 characters ≈ 256 bits.
  return randomBase62(43);
}

const parse = <T>(json: string | null, fallback: T): T => (json ? (JSON.parse(json) as T) : fallback);

function toInfo(row: ClientRow): OAuthClientInfo {
  const lifetimes = parse<OAuthClientInfo['lifetimes']>(row.lifetimes_json, {});
  const jwks = parse<OAuthClientInfo['jwks'] | null>(row.jwks_json, null);
  return {
    clientId: row.client_id,
    name: row.name,
    ...(row.application_id ? { applicationId: row.application_id } : {}),
    kind: row.kind as OAuthClientInfo['kind'],
    redirectUris: parse(row.redirect_uris_json, []),
    postLogoutRedirectUris: parse(row.post_logout_redirect_uris_json, []),
    grantTypes: parse(row.grant_types_json, []),
    tokenEndpointAuthMethod: row.token_endpoint_auth_method as OAuthClientInfo['tokenEndpointAuthMethod'],
    ...(jwks ? { jwks } : {}),
    allowedScopes: parse(row.allowed_scopes_json, []),
    firstParty: row.is_first_party === 1,
    ...(row.organization_name ? { organizationName: row.organization_name } : {}),
    lifetimes,
    ...(row.id_token_signed_response_alg
      ? { idTokenSignedResponseAlg: row.id_token_signed_response_alg as IdTokenSigningAlg }
      : {}),
    enabled: row.is_enabled === 1,
    createdAt: row.created_at,
  };
}

/**
 * The client registry (OAuthClients contract). Secrets are 256-bit random strings shown once; the store
 * keeps their SHA-256 (a slow password hash adds nothing for secrets of that entropy). During a
 * rotation the previous secret stays valid until its expiry.
 */
export function createClients(context: ModuleContext, deps: { grants: Grants }) {
  const { db, clock, changes, audit } = context;
  const platformOrigin = new URL(context.baseUrl).origin;
  const now = () => isoAt(clock.now());

  const inTransaction = async <T>(executor: Executor | undefined, fn: (trx: Executor) => Promise<T>) =>
    executor ? fn(executor) : db.transaction().execute(fn);

  /** Every change of a client is audited and published in the transaction that makes it. */
  const recordChange = async (
    trx: Executor,
    action: string,
    clientId: string,
    details: { before?: unknown; after?: unknown; reason?: string },
  ) => {
    await audit.record(
      { actor: { type: 'system' }, action, target: { type: 'oauthClient', id: clientId }, ...details },
      trx,
    );
    await changes.publish(TOPICS.client, clientId, trx);
  };

  const mustFind = async (clientId: string, executor?: Executor) => {
    const row = await repository.find(executor ?? db, clientId);
    if (!row) throw new AppError('notFound', { detail: 'There is no such OAuth client.' });
    return row;
  };

  const service: OAuthClients & {
    list(): Promise<OAuthClientInfo[]>;
    verifySecret(clientId: string, presented: string): Promise<boolean>;
    providerMetadata(clientId: string): Promise<ProviderClientMetadata | undefined>;
  } = {
    async register(spec, executor) {
      validateSpec(spec, platformOrigin);
      const clientId = spec.clientId ?? newId('cli');
      const secret = SECRET_METHODS.has(spec.tokenEndpointAuthMethod) ? newSecret() : undefined;
      const at = now();
      await inTransaction(executor, async (trx) => {
        if (spec.clientId && (await repository.find(trx, spec.clientId)))
          throw new AppError('conflict', { detail: `An OAuth client ${spec.clientId} already exists.` });
        await repository.insert(trx, {
          client_id: clientId,
          name: spec.name,
          application_id: spec.applicationId ?? null,
          kind: spec.kind,
          token_endpoint_auth_method: spec.tokenEndpointAuthMethod,
          redirect_uris_json: JSON.stringify(spec.redirectUris),
          post_logout_redirect_uris_json: JSON.stringify(spec.postLogoutRedirectUris ?? []),
          grant_types_json: JSON.stringify(spec.grantTypes),
          allowed_scopes_json: JSON.stringify(spec.allowedScopes),
          jwks_json: spec.jwks ? JSON.stringify(spec.jwks) : null,
          lifetimes_json: JSON.stringify(spec.lifetimes ?? {}),
          is_first_party: spec.firstParty ? 1 : 0,
          organization_name: spec.organizationName ?? null,
          is_enabled: 1,
          secret_hash: secret ? sha256Hex(secret) : null,
          previous_secret_hash: null,
          previous_secret_expires_at: null,
          id_token_signed_response_alg: spec.idTokenSignedResponseAlg ?? null,
          created_at: at,
          updated_at: at,
        });
        await recordChange(trx, 'oauthClient.registered', clientId, { after: { ...spec, clientId } });
      });
      return secret ? { clientId, clientSecret: secret } : { clientId };
    },

    async update(clientId, patch, executor) {
      await inTransaction(executor, async (trx) => {
        const row = await mustFind(clientId, trx);
        const current = toInfo(row);
        const next: OAuthClientSpec = { ...current, ...patch };
        validateSpec(next, platformOrigin);
        await repository.update(trx, clientId, {
          name: next.name,
          redirect_uris_json: JSON.stringify(next.redirectUris),
          post_logout_redirect_uris_json: JSON.stringify(next.postLogoutRedirectUris ?? []),
          allowed_scopes_json: JSON.stringify(next.allowedScopes),
          jwks_json: next.jwks ? JSON.stringify(next.jwks) : null,
          organization_name: next.organizationName ?? null,
          lifetimes_json: JSON.stringify(next.lifetimes ?? {}),
          id_token_signed_response_alg: next.idTokenSignedResponseAlg ?? null,
          updated_at: now(),
        });
        await recordChange(trx, 'oauthClient.updated', clientId, { before: current, after: patch });
      });
    },

    async rotateSecret(clientId, overlapSeconds, executor) {
      if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > 30 * 86400)
        throw invalid('overlapSeconds must be an integer between 0 and 2592000.', 'overlapSeconds');
      const secret = newSecret();
      const previousExpiresAt = isoAt(clock.now() + overlapSeconds * 1000);
      await inTransaction(executor, async (trx) => {
        const row = await mustFind(clientId, trx);
        if (!SECRET_METHODS.has(row.token_endpoint_auth_method))
          throw new AppError('conflict', { detail: 'This client does not authenticate with a secret.' });
        await repository.update(trx, clientId, {
          secret_hash: sha256Hex(secret),
          previous_secret_hash: overlapSeconds > 0 ? row.secret_hash : null,
          previous_secret_expires_at: overlapSeconds > 0 ? previousExpiresAt : null,
          updated_at: now(),
        });
        await recordChange(trx, 'oauthClient.secretRotated', clientId, { after: { previousExpiresAt } });
      });
      return { clientSecret: secret, previousExpiresAt };
    },

    async setEnabled(clientId, enabled, reason, executor) {
      await inTransaction(executor, async (trx) => {
        await mustFind(clientId, trx);
        await repository.update(trx, clientId, { is_enabled: enabled ? 1 : 0, updated_at: now() });
        if (!enabled) await deps.grants.revokeClientGrants(clientId, reason, trx);
        await recordChange(trx, enabled ? 'oauthClient.enabled' : 'oauthClient.disabled', clientId, {
          reason,
        });
      });
    },

    async remove(clientId, reason, executor) {
      await inTransaction(executor, async (trx) => {
        await mustFind(clientId, trx);
        await deps.grants.revokeClientGrants(clientId, reason, trx);
        await repository.delete(trx, clientId);
        await recordChange(trx, 'oauthClient.removed', clientId, { reason });
      });
    },

    async revokeGrants(clientId, reason) {
      return deps.grants.revokeClientGrants(clientId, reason);
    },

    async get(clientId) {
      const row = await repository.find(db, clientId);
      return row ? toInfo(row) : undefined;
    },

    async list() {
      return (await repository.list(db)).map(toInfo);
    },

    /** Constant-time check against the current secret and, during an overlap, the previous one. */
    async verifySecret(clientId, presented) {
      const row = await repository.find(db, clientId);
      if (!row?.secret_hash || typeof presented !== 'string') return false;
      const hash = sha256Hex(presented);
      let ok = safeEqualHex(hash, row.secret_hash);
      if (
        row.previous_secret_hash &&
        row.previous_secret_expires_at &&
        row.previous_secret_expires_at > now() &&
        safeEqualHex(hash, row.previous_secret_hash)
      )
        ok = true;
      return ok;
    },

    /** What oidc-provider sees of an enabled client; disabled or unknown clients do not exist for it. */
    async providerMetadata(clientId) {
      const row = await repository.find(db, clientId);
      if (!row) return undefined;
      if (row.is_enabled !== 1) return undefined;
      const info = toInfo(row);
      const metadata: ProviderClientMetadata = {
        client_id: info.clientId,
        client_name: info.name,
        redirect_uris: info.redirectUris,
        post_logout_redirect_uris: info.postLogoutRedirectUris ?? [],
        grant_types: info.grantTypes,
        response_types: info.grantTypes.includes('authorization_code') ? ['code'] : [],
        token_endpoint_auth_method: info.tokenEndpointAuthMethod,
        // Native (loopback http redirects, RFC 8252) only when a redirect needs it; https clients are web.
        application_type: info.redirectUris.some(
          (u) => u.startsWith('http:') && new URL(u).origin !== platformOrigin,
        )
          ? 'native'
          : 'web',
        id_token_signed_response_alg: info.idTokenSignedResponseAlg ?? 'ES256',
        'urn:strongroom:kind': info.kind,
        'urn:strongroom:first_party': info.firstParty === true,
        'urn:strongroom:organization': info.organizationName ?? null,
        'urn:strongroom:allowed_scopes': info.allowedScopes,
        'urn:strongroom:lifetimes': (info.lifetimes ?? {}) as Record<string, number>,
      };
      // oidc-provider insists on a client_secret for secret-based methods. It never sees the real one:
      // this placeholder (derived from the hash, so a rotation changes the cached client) is never
      // compared, because compareClientSecret is overridden to check the stored hashes.
      if (SECRET_METHODS.has(info.tokenEndpointAuthMethod))
        metadata.client_secret = `hashed-${sha256Hex(`${row.secret_hash}|${row.previous_secret_hash ?? ''}|${row.previous_secret_expires_at ?? ''}`)}`;
      if (info.jwks) metadata.jwks = info.jwks;
      return metadata;
    },
  };
  return service;
}

export type Clients = ReturnType<typeof createClients>;
