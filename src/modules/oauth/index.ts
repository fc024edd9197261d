import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import { providerNotFoundAsProblem } from '../../http/edge-answers.ts';
import { pinPublicOrigin, setMetadataCaching } from '../../http/public-origin.ts';
import type { TokenAuthority } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import { createAdapterClass } from './adapter.ts';
import { createClients } from './clients-service.ts';
import { answerDependencyFailures, noteDependencyFailure } from './dependency-failures.ts';
import { createGrants, TOPICS } from './grants-service.ts';
import { AUTH_CSP, registerInteractionRoutes } from './interactions/index.ts';
import { createKeys, type KeyMaterial, publicJwk } from './keys-service.ts';
import { createLifetimes } from './lifetimes.ts';
import { buildProvider } from './provider.ts';
import { createProviderSteps } from './provider-steps.ts';
import { createUserinfo } from './userinfo.ts';

export type { OAuthClientInfo, OAuthClientSpec, OAuthClients, TokenEndpointAuthMethod } from './contract.ts';
export type { Lifetimes } from './lifetimes.ts';

/** The institution's own platform clients, present in every deployment. */
export const PORTAL_CLIENT_ID = 'portal';

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
  const Adapter = createAdapterClass({ db: context.db, clock: context.clock, clients, grants });
  const keyListeners = new Set<() => void>();
  const steps = createProviderSteps({
    issuer,
    audience,
    clock: context.clock,
    shared: context.shared,
    grants,
    lifetimes,
    currentKeys: () => current?.material,
  });

  let current:
    | { provider: Provider; handler: ReturnType<Provider['callback']>; material: KeyMaterial }
    | undefined;
  let initializing: Promise<void> | undefined;
  // Set by the app once the developers module exists (apps carry the environment, DESIGN.md §5.4).
  let clientEnvironment: (clientId: string) => Promise<'production' | 'sandbox'> = async () => 'production';

  // The longest access-token lifetime any client's override sets (the gateway bounds `exp − iat` by it);
  // kept in memory because the gateway asks synchronously, and reloaded on every client change. A token
  // this process issued raises it at once, so a fresh override is never refused here while the change
  // feed catches up.
  let longestClientAccessToken = 0;
  let longestIssuedAccessToken = 0;
  const loadLongestClientAccessToken = async () => {
    const all = await clients.list();
    longestClientAccessToken = Math.max(0, ...all.map((c) => c.lifetimes?.accessToken ?? 0));
  };
  const unsubscribeClients = changes.subscribe(TOPICS.client, () => {
    void loadLongestClientAccessToken().catch((error) =>
      logger.error({ err: error }, 'reading the clients’ access-token lifetimes failed'),
    );
  });

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
      clock: context.clock,
      // Always: mount() overwrites every forwarded header from --public-url (http/public-origin.ts).
      behindProxy: true,
      onAccessTokenLifetime: (seconds) => {
        if (seconds > longestIssuedAccessToken) longestIssuedAccessToken = seconds;
      },
    });
    // Secrets are stored hashed: compare against the hashes (current, and previous during an overlap).
    const ClientClass = provider.Client as unknown as { prototype: Record<string, unknown> };
    ClientClass.prototype.compareClientSecret = async function compareClientSecret(
      this: { clientId: string },
      actual: string,
    ) {
      return clients.verifySecret(this.clientId, actual);
    };
    provider.use(answerDependencyFailures);
    provider.use(steps.interceptJwt(material));
    provider.use(steps.endGrantsOnLogout);
    provider.use(steps.slideRefreshTokenExpiry);
    provider.use(steps.throttleClientAuthFailures);
    provider.use(providerNotFoundAsProblem(context) as never);
    provider.use(steps.keepOfflineAccess);
    provider.use(steps.echoGrantedScope);
    provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
      noteDependencyFailure(ctx, error);
      logger.error({ err: error }, 'authorization server error');
    });
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
      await loadLongestClientAccessToken();
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
    pinPublicOrigin(raw, context.baseUrl, request.ip);
    setMetadataCaching(path, reply.raw);
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
    longestAccessTokenSeconds: () =>
      Math.max(lifetimes.global().accessToken, longestClientAccessToken, longestIssuedAccessToken),
  };

  // The portal client follows the public URL, so a refresh writes exactly what seeding wrote.
  const describePlatformClients: DemoSeeder['seed'] = async (demo) => {
    await ready();
    demo.platformClients = {
      portal: {
        clientId: PORTAL_CLIENT_ID,
        redirectUri: `${context.baseUrl}/portal/callback`,
        tokenEndpointAuthMethod: 'none',
      },
    };
  };
  const demoSeeder: DemoSeeder = {
    name: 'oauth',
    seed: describePlatformClients,
    refresh: describePlatformClients,
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
    /** Where a client's environment comes from (the developers module's applications). */
    useClientEnvironment(lookup: (clientId: string) => Promise<'production' | 'sandbox'>): void {
      clientEnvironment = lookup;
    },
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
        clientEnvironment: (clientId) => clientEnvironment(clientId),
      });
      app.register(async (scope) => {
        // oidc-provider parses bodies itself: it gets the raw text.
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) =>
          done(null, body),
        );
        // Ours, not oidc-provider's (which refuses every token with an audience): see userinfo.ts.
        scope.route({
          method: ['GET', 'POST'],
          url: '/auth/userinfo',
          handler: createUserinfo({
            issuer,
            audience,
            keys: async () => {
              await ready();
              return (current as NonNullable<typeof current>).material;
            },
            provider,
            grants,
            identity,
          }),
        });
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
      unsubscribeClients();
      grants.stop();
      lifetimes.stop();
    },
  };
}

export type Oauth = Awaited<ReturnType<typeof createOauth>>;
