import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { TokenAuthority } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import { createAdapterClass } from './adapter.ts';
import { createClients } from './clients-service.ts';
import { createGrants, TOPICS } from './grants-service.ts';
import { AUTH_CSP, registerInteractionRoutes } from './interactions/index.ts';
import { createKeys, type KeyMaterial, publicJwk } from './keys-service.ts';
import { createLifetimes } from './lifetimes.ts';
import { buildProvider, clientLifetimes } from './provider.ts';

export type { OAuthClientInfo, OAuthClientSpec, OAuthClients, TokenEndpointAuthMethod } from './contract.ts';
export type { Lifetimes } from './lifetimes.ts';

/** The institution's own platform clients, present in every deployment. */
export const PORTAL_CLIENT_ID = 'portal';

function looksLikeJwt(token: string): boolean {
  try {
    return token.split('.').length === 3 && !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

/**
 * The authorization server (oidc-provider at /auth), its storage adapter, signing keys, denylist,
 * lifetimes and the login/MFA/consent pages.
 */
export async function createOauth(context: ModuleContext, deps: { identity: Identity }) {
  const { identity } = deps;
  const { logger, changes, config } = context;
  const issuer = `${context.baseUrl}/auth`;
  const audience = `${context.baseUrl}/`;
  const grants = createGrants(context);
  const clients = createClients(context, { grants });
  const keys = createKeys(context);
  const lifetimes = createLifetimes(context);
  const Adapter = createAdapterClass({ db: context.db, clients, grants });
  const keyListeners = new Set<() => void>();

  let current:
    | { provider: Provider; handler: ReturnType<Provider['callback']>; material: KeyMaterial }
    | undefined;
  let initializing: Promise<void> | undefined;

  identity.onCredentialsRevoked(async (userId, reason) => {
    await grants.revokeUserGrants(userId, reason);
  });

  async function ensurePortalClient(): Promise<void> {
    const redirectUris = [`${context.baseUrl}/portal/callback`];
    const postLogoutRedirectUris = [`${context.baseUrl}/portal/`];
    const existing = await clients.get(PORTAL_CLIENT_ID);
    if (!existing) {
      await clients
        .register({
          clientId: PORTAL_CLIENT_ID,
          name: 'Developer portal',
          kind: 'public',
          redirectUris,
          postLogoutRedirectUris,
          grantTypes: ['authorization_code', 'refresh_token'],
          tokenEndpointAuthMethod: 'none',
          allowedScopes: ['admin/read', 'admin/write', 'admin/full', 'profile/read'],
          firstParty: true,
          organizationName: config.institutionName,
        })
        .catch(async (error) => {
          if (!(await clients.get(PORTAL_CLIENT_ID))) throw error;
        });
    } else if (existing.redirectUris.join(' ') !== redirectUris.join(' ')) {
      await clients.update(PORTAL_CLIENT_ID, { redirectUris, postLogoutRedirectUris });
    }
  }

  async function build(): Promise<void> {
    const material = await keys.material();
    const provider = buildProvider({
      issuer,
      audience,
      institutionName: config.institutionName,
      keys: material,
      Adapter: Adapter as never,
      identity,
      lifetimes,
      behindProxy: config.trustProxy.length > 0,
    });
    // Secrets are stored hashed: compare against the hashes (current, and previous during an overlap).
    const ClientClass = provider.Client as unknown as { prototype: Record<string, unknown> };
    ClientClass.prototype.compareClientSecret = async function compareClientSecret(
      this: { clientId: string },
      actual: string,
    ) {
      return clients.verifySecret(this.clientId, actual);
    };
    provider.use(interceptJwt(material));
    provider.use(endGrantsOnLogout);
    provider.use(slideRefreshTokenExpiry);
    provider.use(throttleClientAuthFailures);
    provider.on('server_error', (_ctx: unknown, error: Error) =>
      logger.error({ err: error }, 'authorization server error'),
    );
    provider.on('grant.revoked', (_ctx: unknown, grantId: string) =>
      logger.info({ grantId, event: 'grant.revoked' }, 'grant revoked'),
    );
    current = { provider, handler: provider.callback(), material };
  }

  /** Lazy start: the store is migrated only after the module is created. */
  function ready(): Promise<void> {
    initializing ??= (async () => {
      await identity.ensureDefaultRoles();
      await keys.ensure();
      await lifetimes.load();
      await grants.load();
      // The portal client must not keep the authorization server from starting.
      await ensurePortalClient().catch((error) =>
        logger.error({ err: error }, 'the portal OAuth client could not be set up'),
      );
      await build();
    })();
    initializing.catch(() => {
      initializing = undefined;
    });
    return initializing;
  }

  const provider = async () => {
    await ready();
    return (current as NonNullable<typeof current>).provider;
  };

  const unsubscribeKeys = changes.subscribe(TOPICS.signingKeys, () => {
    if (!current) return;
    void build()
      .then(() => {
        for (const listener of keyListeners) listener();
      })
      .catch((error) => logger.error({ err: error }, 'rebuilding the authorization server failed'));
  });

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
        claims = await verifyAccessToken(jwt, current?.material ?? material);
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
  const clientAuthLimiter = context.shared.rateLimiter({
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
    const now = Math.floor(Date.now() / 1000);
    const exp = Math.min(
      now + lt.refreshTokenIdle,
      (token.iiat ?? token.iat ?? now) + lt.refreshTokenAbsolute,
    );
    if (token.exp !== undefined && exp > token.exp) {
      token.exp = exp;
      await token.save();
    }
  }

  async function mount(
    request: FastifyRequest,
    reply: FastifyReply,
    path: string,
    mountPath?: string,
  ): Promise<void> {
    await ready();
    const { handler } = current as NonNullable<typeof current>;
    reply.hijack();
    const raw = request.raw as IncomingMessage & { originalUrl?: string; body?: unknown };
    for (const [name, value] of Object.entries(reply.getHeaders()))
      if (value !== undefined) reply.raw.setHeader(name, value as string);
    reply.raw.setHeader('content-security-policy', AUTH_CSP);
    // The request log line should show the public path, not the provider's (never the query string).
    (request.logContext as Record<string, unknown>).path = request.url.split('?')[0];
    // oidc-provider derives its mount path (and so every advertised URL) from originalUrl minus url.
    raw.originalUrl = mountPath ? `${mountPath}${path}` : raw.url;
    raw.url = path;
    if (typeof request.body === 'string') raw.body = request.body;
    await handler(raw, reply.raw);
  }

  const authority: TokenAuthority = {
    issuer,
    audience,
    async jwks() {
      await ready();
      return { keys: (current as NonNullable<typeof current>).material.signing.map(publicJwk) };
    },
    onKeysChanged(listener) {
      keyListeners.add(listener);
      return () => keyListeners.delete(listener);
    },
    isRevoked: (token) => grants.isRevoked(token),
  };

  const demoSeeder: DemoSeeder = {
    name: 'oauth',
    async seed(demo) {
      await ready();
      demo.platformClients = {
        portal: {
          clientId: PORTAL_CLIENT_ID,
          redirectUri: `${context.baseUrl}/portal/callback`,
          tokenEndpointAuthMethod: 'none',
        },
      };
    },
    async refresh(demo) {
      await ready();
      demo.platformClients = {
        portal: {
          clientId: PORTAL_CLIENT_ID,
          redirectUri: `${context.baseUrl}/portal/callback`,
          tokenEndpointAuthMethod: 'none',
        },
      };
    },
  };

  return {
    authority,
    clients,
    grants,
    keys,
    lifetimes,
    demoSeeder,
    /** The running oidc-provider (after start-up). */
    provider,
    ready,
    register(app: FastifyInstance): void {
      // Our sign-in pages: their own scopes, with the web plumbing (cookies, forms, the form rule).
      registerInteractionRoutes(app, {
        provider,
        identity,
        shared: context.shared,
        sealer: context.sealer,
        problems: context.problems,
        institutionName: config.institutionName,
        baseUrl: context.baseUrl,
        audience,
        csrfKey: async () => {
          await ready();
          const key = (current as NonNullable<typeof current>).material.cookies[0] ?? '';
          return createHash('sha256').update(`csrf|${key}`).digest();
        },
        interactionMs: () => lifetimes.global().interaction * 1000,
      });
      app.register(async (scope) => {
        // oidc-provider parses bodies itself: it gets the raw text.
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) =>
          done(null, body),
        );
        const methods = ['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'] as const;
        scope.route({
          method: [...methods],
          url: '/auth/*',
          handler: (request, reply) =>
            mount(request, reply, (request.raw.url ?? '/auth').slice('/auth'.length) || '/'),
        });
        scope.route({
          method: ['GET', 'HEAD', 'OPTIONS'],
          url: '/.well-known/oauth-authorization-server/auth',
          handler: (request, reply) => {
            const query = (request.raw.url ?? '').split('?')[1];
            return mount(
              request,
              reply,
              `/.well-known/openid-configuration${query ? `?${query}` : ''}`,
              '/auth',
            );
          },
        });
      });
      app.addHook('onReady', async () => {
        await ready();
      });
    },
    async stop(): Promise<void> {
      unsubscribeKeys();
      grants.stop();
      lifetimes.stop();
    },
  };
}

export type Oauth = Awaited<ReturnType<typeof createOauth>>;
