import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../../lib/clock.ts';
import type { SharedState } from '../../store/index.ts';
import type { Grants } from './grants-service.ts';
import { type KeyMaterial, publicJwk } from './keys-service.ts';
import type { LifetimesService } from './lifetimes.ts';
import { clientLifetimes } from './provider.ts';

function looksLikeJwt(token: string): boolean {
  try {
    return token.split('.').length === 3 && !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

/**
 * Our steps in oidc-provider's middleware chain (`provider.use`), each a small named middleware: JWT
 * access tokens at introspection and revocation, grants ended at sign-out, sliding refresh-token expiry,
 * and the client-authentication throttle.
 */
export function createProviderSteps(deps: {
  issuer: string;
  audience: string;
  clock: Clock;
  shared: SharedState;
  grants: Grants;
  lifetimes: LifetimesService;
  /** The keys of the running provider (they change with a rotation). */
  currentKeys: () => KeyMaterial | undefined;
}) {
  const { issuer, audience, grants, lifetimes } = deps;

  const verifyAccessToken = async (token: string, material: KeyMaterial) => {
    const jwks = createLocalJWKSet({ keys: material.signing.map(publicJwk) as never });
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      audience,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    return payload;
  };

  /**
   * oidc-provider refuses JWT access tokens at introspection and revocation. We hand it a placeholder
   * token so that it still authenticates the client (every method, including private_key_jwt), then
   * answer from the signature and the denylist, and revoke the token's grant.
   */
  function interceptJwt(material: KeyMaterial) {
    return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
      const route =
        ctx.path === '/oauth2/introspect'
          ? 'introspect'
          : ctx.path === '/oauth2/revoke'
            ? 'revoke'
            : undefined;
      const req = ctx.req as IncomingMessage & { body?: unknown };
      let jwt: string | undefined;
      if (route && ctx.method === 'POST' && typeof req.body === 'string') {
        const params = new URLSearchParams(req.body);
        const token = params.get('token');
        if (token && params.getAll('token').length === 1 && looksLikeJwt(token)) {
          jwt = token;
          params.set('token', `jwt-${createHash('sha256').update(token).digest('base64url')}`);
          req.body = params.toString();
        }
      }
      await next();
      const client = ctx.oidc?.client;
      const failure = ctx.body as { error?: string; error_description?: string } | undefined;
      if (
        route &&
        ctx.status === 400 &&
        failure?.error === 'invalid_request' &&
        !client &&
        /client authentication/.test(failure.error_description ?? '')
      ) {
        // RFC 7662 §2.1 / RFC 7009 §2.1: an unauthenticated caller is an invalid client (401), not a bad request.
        ctx.status = 401;
        ctx.body = { error: 'invalid_client', error_description: 'client authentication is required' };
        ctx.set('www-authenticate', 'Basic realm="strongroom"');
        return;
      }
      if (!jwt || ctx.status !== 200 || !client) return;
      let claims: Awaited<ReturnType<typeof verifyAccessToken>> | undefined;
      try {
        claims = await verifyAccessToken(jwt, deps.currentKeys() ?? material);
      } catch {
        claims = undefined;
      }
      const grantId = typeof claims?.grant_id === 'string' ? claims.grant_id : undefined;
      const mine = claims !== undefined && claims.client_id === client.clientId;
      if (route === 'introspect') {
        ctx.set('cache-control', 'no-store');
        ctx.type = 'application/json';
        if (!claims || !mine || grants.isRevoked({ grantId, jti: String(claims.jti) })) {
          ctx.body = { active: false };
          return;
        }
        ctx.body = { active: true, token_type: 'Bearer', ...claims };
        return;
      }
      if (claims && mine) {
        if (grantId) await grants.revokeGrant(grantId, 'access token revoked by its client');
        else await grants.revokeTokenId(String(claims.jti), 'access token revoked by its client');
      }
    };
  }

  /**
   * Signing out ends the grants of every client of the session (their tokens are not meant to outlive
   * it here): oidc-provider keeps grants whose tokens do not expire with the session.
   */
  async function endGrantsOnLogout(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.path !== '/logout/confirm' || ctx.method !== 'POST') return;
    const oidc = ctx.oidc as unknown as {
      params?: { logout?: string };
      session?: { authorizations?: Record<string, { grantId?: string }> };
    };
    if (!oidc?.params?.logout) return;
    for (const authorization of Object.values(oidc.session?.authorizations ?? {}))
      if (authorization.grantId) await grants.revokeGrant(authorization.grantId, 'signed out');
  }

  /**
   * Brute force on client secrets: after too many failed client authentications from one address in a
   * minute, the client-authenticated endpoints answer 429 until the window passes.
   */
  const clientAuthLimiter = deps.shared.rateLimiter({
    keyPrefix: 'client-auth-failures',
    points: 100,
    duration: 60,
  });
  const CLIENT_AUTH_PATHS = new Set(['/oauth2/token', '/oauth2/introspect', '/oauth2/revoke', '/oauth2/par']);
  function presentedClientId(ctx: KoaContextWithOIDC): string {
    const authorization = ctx.get('authorization');
    if (/^basic /i.test(authorization)) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      try {
        return decodeURIComponent(decoded.split(':')[0] ?? '').slice(0, 128);
      } catch {
        return '';
      }
    }
    const body = (ctx.req as IncomingMessage & { body?: unknown }).body;
    const fromBody = typeof body === 'string' ? new URLSearchParams(body).get('client_id') : null;
    return (fromBody ?? '').slice(0, 128);
  }

  async function throttleClientAuthFailures(
    ctx: KoaContextWithOIDC,
    next: () => Promise<void>,
  ): Promise<void> {
    if (!CLIENT_AUTH_PATHS.has(ctx.path) || ctx.method !== 'POST') return next();
    // Keyed by address and client, so one client's attacker does not lock out others behind a NAT.
    const address = `${ctx.ip}|${presentedClientId(ctx)}`;
    const state = await clientAuthLimiter.get(address).catch(() => null);
    if (state && state.consumedPoints >= 100) {
      ctx.status = 429;
      ctx.set('retry-after', String(Math.max(1, Math.ceil(state.msBeforeNext / 1000))));
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'slow_down', error_description: 'too many failed client authentications' };
      return;
    }
    await next();
    if (ctx.status === 401) await clientAuthLimiter.consume(address).catch(() => {});
  }

  /**
   * Confidential clients keep their refresh token (no rotation), so its idle lifetime must slide on use:
   * each successful refresh moves its expiry to now + idle, never beyond the absolute lifetime.
   */
  async function slideRefreshTokenExpiry(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.path !== '/oauth2/token' || ctx.status !== 200) return;
    const entities = ctx.oidc?.entities as
      | {
          RefreshToken?: { iiat?: number; iat?: number; exp?: number; save(): Promise<unknown> };
          RotatedRefreshToken?: unknown;
        }
      | undefined;
    const token = entities?.RefreshToken;
    if (!token || entities?.RotatedRefreshToken || ctx.oidc.params?.grant_type !== 'refresh_token') return;
    const lt = lifetimes.forClient(clientLifetimes(ctx.oidc.client as never));
    const now = Math.floor(deps.clock.now() / 1000);
    const exp = Math.min(
      now + lt.refreshTokenIdle,
      (token.iiat ?? token.iat ?? now) + lt.refreshTokenAbsolute,
    );
    if (token.exp !== undefined && exp > token.exp) {
      token.exp = exp;
      await token.save();
    }
  }

  /**
   * The token response's `scope` is what was granted (RFC 6749 §5.1), OpenID scopes included:
   * oidc-provider answers with the access token's (API) scopes only, so a response carrying an ID token
   * would omit `openid` and a granted `offline_access` would vanish — which strict clients read as a
   * changed or missing scope (issue 10 item 17).
   */
  async function echoGrantedScope(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.path !== '/oauth2/token' || ctx.status !== 200) return;
    const body = ctx.body as { scope?: string; id_token?: string } | undefined;
    const entities = ctx.oidc?.entities as
      | {
          Grant?: { getOIDCScopeFiltered(scopes: Set<string>): string };
          AuthorizationCode?: { scopes: Set<string> };
          RefreshToken?: { scopes: Set<string> };
        }
      | undefined;
    const source = entities?.AuthorizationCode ?? entities?.RefreshToken;
    if (!body || !entities?.Grant || !source) return;
    const granted = new Set(entities.Grant.getOIDCScopeFiltered(source.scopes).split(' ').filter(Boolean));
    if (body.id_token) granted.add('openid');
    for (const scope of (body.scope ?? '').split(' ')) if (scope) granted.add(scope);
    body.scope = [...granted].join(' ');
  }

  /**
   * OIDC Core §11 lets the server grant `offline_access` without `prompt=consent` when "other conditions
   * … permitting offline access" hold; here a refresh token comes with every authorization-code grant
   * anyway, but oidc-provider silently drops the scope unless the request asks for consent. Asking for
   * consent on the client's behalf keeps it: first-party clients are approved at once, third-party users
   * see the consent page (which OIDC Core §11 requires for offline access in any case).
   */
  function keepOfflineAccess(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    const route =
      ctx.path === '/oauth2/authorize' ? 'authorize' : ctx.path === '/oauth2/par' ? 'par' : undefined;
    if (!route) return next();
    const req = ctx.req as IncomingMessage & { body?: unknown };
    const fromBody = ctx.method === 'POST' && typeof req.body === 'string';
    const params = new URLSearchParams(fromBody ? (req.body as string) : ctx.querystring);
    const scopes = (params.get('scope') ?? '').split(' ');
    const prompts = (params.get('prompt') ?? '').split(' ').filter(Boolean);
    if (
      params.getAll('scope').length !== 1 ||
      params.getAll('prompt').length > 1 ||
      !scopes.includes('offline_access') ||
      prompts.includes('consent') ||
      prompts.includes('none')
    )
      return next();
    params.set('prompt', [...prompts, 'consent'].join(' '));
    if (fromBody) {
      req.body = params.toString();
    } else {
      // oidc-provider derives its mount path from originalUrl minus url: keep the two in step.
      const raw = req as IncomingMessage & { originalUrl?: string };
      const mount = (raw.originalUrl ?? '').slice(0, (raw.originalUrl ?? '').length - (raw.url ?? '').length);
      ctx.querystring = params.toString();
      raw.originalUrl = `${mount}${raw.url}`;
    }
    return next();
  }

  return {
    interceptJwt,
    endGrantsOnLogout,
    throttleClientAuthFailures,
    slideRefreshTokenExpiry,
    echoGrantedScope,
    keepOfflineAccess,
  };
}
