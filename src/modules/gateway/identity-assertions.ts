import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { Executor } from '../../db/index.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import { randomBase62 } from '../../lib/ids.ts';
import type { Sealer } from '../../lib/sealer.ts';
import type { Principal, VerifiedKey } from './contract.ts';
import { gatewayKeysRepository as repository } from './gateway-keys-repository.ts';

/** The path where upstreams fetch the gateway's public keys. */
export const GATEWAY_JWKS_PATH = '/.well-known/strongroom-gateway-jwks.json';
/** The one header carrying the verified identity to upstreams. */
export const IDENTITY_HEADER = 'strongroom-identity';
export const IDENTITY_TYP = 'strongroom-identity+jwt';
const PURPOSE = 'identity';
const LIFETIME_SECONDS = 60;
/** A cached assertion is reused while it has at least this long to live. */
const REUSE_MARGIN_SECONDS = 30;

type SigningKey = { kid: string; key: Awaited<ReturnType<typeof importJWK>> };

/**
 * Short-lived ES256 JWTs telling an upstream API who is calling (user, client application, API key,
 * scopes, grant). The signing key lives in the store, sealed with the key-encryption key, so every
 * instance signs with the same key and publishes the same JWKS. Assertions are cached per
 * (key, token) and reused until close to expiry: signing is the costly part of a proxied request.
 */
export function createIdentityAssertions(deps: {
  db: Executor;
  sealer: Sealer;
  clock: Clock;
  issuer: string;
}) {
  const { db, sealer, clock } = deps;
  let signing: Promise<SigningKey> | undefined;
  const cache = new Map<string, { jwt: string; exp: number }>();

  const loadOrCreate = async (): Promise<SigningKey> => {
    const existing = await oldestKey();
    if (existing) return existing;
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `gw_${randomBase62(20)}`;
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
    await repository.insert(db, {
      kid,
      purpose: PURPOSE,
      private_sealed: sealer.seal(JSON.stringify(privateJwk), `gateway_keys:${kid}`),
      public_json: JSON.stringify(publicJwk),
      created_at: isoAt(clock.now()),
    });
    // Two instances starting together may both create one: everyone settles on the oldest.
    const chosen = await oldestKey();
    if (!chosen) throw new Error('gateway signing key vanished');
    return chosen;
  };

  const oldestKey = async (): Promise<SigningKey | undefined> => {
    const row = await repository.oldest(db, PURPOSE);
    if (!row) return undefined;
    const jwk = JSON.parse(sealer.open(row.private_sealed, `gateway_keys:${row.kid}`)) as JWK;
    return { kid: row.kid, key: await importJWK(jwk, 'ES256') };
  };

  const signingKey = () => {
    signing ??= loadOrCreate().catch((error) => {
      signing = undefined;
      throw error;
    });
    return signing;
  };

  return {
    async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
      await signingKey();
      const keys = await repository.publicKeys(db, PURPOSE);
      return { keys: keys.map((json) => JSON.parse(json) as Record<string, unknown>) };
    },

    /**
     * The assertion for one call to `api`; `audience` is the API's public URL. A cached assertion comes
     * back as a plain string (no promise, no microtask on the proxied hot path); signing is awaited.
     */
    assert(
      api: string,
      audience: string,
      key: VerifiedKey | undefined,
      principal: Principal | undefined,
    ): string | Promise<string> {
      const now = Math.floor(clock.now() / 1000);
      const environment = key?.environment ?? 'production';
      const cacheKey = `${api}|${key?.keyId ?? ''}|${environment}|${principal?.tokenId ?? ''}`;
      const cached = cache.get(cacheKey);
      if (cached && cached.exp - now >= REUSE_MARGIN_SECONDS) return cached.jwt;
      return sign(cacheKey, now, audience, key, principal, environment);
    },
  };

  async function sign(
    cacheKey: string,
    now: number,
    audience: string,
    key: VerifiedKey | undefined,
    principal: Principal | undefined,
    environment: string,
  ): Promise<string> {
    const { kid, key: privateKey } = await signingKey();
    // Never outlive the access token it vouches for.
    const exp = Math.min(now + LIFETIME_SECONDS, principal?.expiresAt ?? Number.POSITIVE_INFINITY);
    const claims: Record<string, unknown> = {
      client_id: principal?.clientId ?? key?.clientId,
      application_id: key?.applicationId,
      organization_id: key?.organizationId,
      api_key_id: key?.keyId,
      // DESIGN.md §5.4: an upstream serves a sandbox key sandbox data only.
      environment,
      scope: principal ? [...principal.scopes].join(' ') : undefined,
      grant_id: principal?.grantId,
      token_jti: principal?.tokenId,
    };
    const jwt = await new SignJWT(JSON.parse(JSON.stringify(claims)) as Record<string, unknown>)
      .setProtectedHeader({ alg: 'ES256', typ: IDENTITY_TYP, kid })
      .setIssuer(deps.issuer)
      .setAudience(audience)
      .setSubject(principal?.subject ?? key?.clientId ?? 'anonymous')
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(privateKey);
    if (cache.size >= 10_000) cache.clear();
    cache.set(cacheKey, { jwt, exp });
    return jwt;
  }
}

export type IdentityAssertions = ReturnType<typeof createIdentityAssertions>;
