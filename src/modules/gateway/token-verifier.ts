import { createLocalJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../../lib/clock.ts';
import type { Principal, TokenAuthority } from './contract.ts';

/** Why a presented access token was refused (DESIGN.md §1 row 5); for logs and the answer table. */
export type TokenRefusal = 'tokenInvalid' | 'tokenExpired' | 'tokenRevoked' | 'tokenKeyBound';

export type TokenVerification =
  | { ok: true; principal: Principal }
  | { ok: false; reason: TokenRefusal; why: string };

/** Signature algorithms accepted, fixed server-side (RFC 8725 §3.1; FAPI 2.0: PS256, ES256, EdDSA). */
export const ACCEPTED_ALGORITHMS = ['ES256', 'PS256', 'EdDSA'];
const LEEWAY_SECONDS = 10;
/** How far in the future a token's `iat` may be (clock skew between instances), DESIGN.md §5.1. */
const MAX_IAT_AHEAD_SECONDS = 60;

export interface TokenVerifierOptions {
  tokens: TokenAuthority;
  clock: Clock;
  /** Expands granted scopes with implied ones (`banking/full` ⇒ every `banking/*`). */
  expandScopes: (scopes: string[]) => ReadonlySet<string>;
  /** Verified tokens kept (bounded; oldest evicted first). */
  cacheSize?: number;
}

/**
 * Verifies RFC 9068 access tokens against the authorization server's keys. A verified token's claims are
 * cached by the exact token string until the token expires (a tampered token is a different string and
 * can never hit), the cache is flushed when the signing keys change, and the denylist is consulted on
 * every call, cached or not.
 */
export function createTokenVerifier(options: TokenVerifierOptions) {
  const { tokens, clock, expandScopes } = options;
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = new Map<string, Principal>();
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  let keySetLoading: Promise<ReturnType<typeof createLocalJWKSet>> | undefined;
  let keysFetchedAt = Number.NEGATIVE_INFINITY;

  const loadKeys = (): Promise<ReturnType<typeof createLocalJWKSet>> => {
    keySetLoading ??= tokens
      .jwks()
      .then((jwks) => {
        keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
        keysFetchedAt = clock.monotonic();
        return keySet;
      })
      .finally(() => {
        keySetLoading = undefined;
      });
    return keySetLoading;
  };
  const unsubscribe = tokens.onKeysChanged(() => {
    keySet = undefined;
    cache.clear();
  });

  /**
   * DESIGN.md §5.1's rules on top of the signature, issuer, audience and expiry (a token signed with our
   * key but not by our rules — a leaked key, a forged issuance path — must still be refused): `iat` at
   * most 60 s ahead, a lifetime no longer than any configured, a `jti`, and a `grant_id` whenever the
   * token represents a user (only client-credentials tokens, whose subject is the client, have none).
   */
  const ruleBroken = (payload: JWTPayload): string | undefined => {
    if (typeof payload.client_id !== 'string' || typeof payload.sub !== 'string') return 'claims';
    if (typeof payload.jti !== 'string' || payload.jti === '') return 'no jti';
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    if (iat > clock.now() / 1000 + MAX_IAT_AHEAD_SECONDS) return 'iat in the future';
    if (exp - iat > tokens.longestAccessTokenSeconds()) return 'lifetime too long';
    if (payload.sub !== payload.client_id && typeof payload.grant_id !== 'string') return 'no grant_id';
    return undefined;
  };

  const denylisted = (principal: Principal) =>
    tokens.isRevoked({ grantId: principal.grantId, jti: principal.tokenId });

  const verifyFully = async (token: string, retried = false): Promise<TokenVerification> => {
    const keys = keySet ?? (await loadKeys());
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: tokens.issuer,
        audience: tokens.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: LEEWAY_SECONDS,
        currentDate: new Date(clock.now()),
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: 'tokenExpired', why: 'expired' };
      // A key we do not know yet may be a rotation the change listener has not told us about: refetch
      // once (at most once a second of elapsed time), then give up.
      if (error instanceof errors.JWKSNoMatchingKey && !retried && clock.monotonic() - keysFetchedAt > 1000) {
        keySet = undefined;
        return verifyFully(token, true);
      }
      return { ok: false, reason: 'tokenInvalid', why: (error as { code?: string }).code ?? 'invalid' };
    }
    const refusal = ruleBroken(payload);
    if (refusal) return { ok: false, reason: 'tokenInvalid', why: refusal };
    // A sender-constrained token (`cnf`, e.g. DPoP's `jkt`) is only good with a proof of its key, which
    // a Bearer request does not carry (RFC 9449 §7.2). Never cached, so every presentation lands here.
    if (payload.cnf !== undefined) return { ok: false, reason: 'tokenKeyBound', why: 'cnf' };
    const grantId = typeof payload.grant_id === 'string' ? payload.grant_id : undefined;
    const scope = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    // Checked by ruleBroken: strings.
    const subject = payload.sub as string;
    const clientId = payload.client_id as string;
    const principal: Principal = {
      subject,
      // Client-credentials tokens have the client as subject and no grant.
      userId: subject === clientId && grantId === undefined ? undefined : subject,
      clientId,
      scopes: expandScopes(scope),
      grantId,
      tokenId: payload.jti as string,
      expiresAt: payload.exp as number,
    };
    if (cache.size >= cacheSize) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(token, principal);
    return { ok: true, principal };
  };

  return {
    async verify(token: string): Promise<TokenVerification> {
      let principal = cache.get(token);
      if (principal) {
        if (principal.expiresAt * 1000 + LEEWAY_SECONDS * 1000 <= clock.now()) {
          cache.delete(token);
          return { ok: false, reason: 'tokenExpired', why: 'expired' };
        }
      } else {
        const result = await verifyFully(token);
        if (!result.ok) return result;
        principal = result.principal;
      }
      if (denylisted(principal)) return { ok: false, reason: 'tokenRevoked', why: 'revoked' };
      return { ok: true, principal };
    },
    /** Synchronous cache hit (the hot path); undefined when the token needs a full verification. */
    verifyCached(token: string): TokenVerification | undefined {
      const principal = cache.get(token);
      if (!principal || principal.expiresAt * 1000 + LEEWAY_SECONDS * 1000 <= clock.now()) return undefined;
      if (denylisted(principal)) return { ok: false, reason: 'tokenRevoked', why: 'revoked' };
      return { ok: true, principal };
    },
    flush() {
      cache.clear();
      keySet = undefined;
    },
    stop() {
      unsubscribe();
      cache.clear();
    },
  };
}

export type TokenVerifier = ReturnType<typeof createTokenVerifier>;
