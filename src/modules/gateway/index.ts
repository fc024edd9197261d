import type { FastifyInstance } from 'fastify';
import { API_SCOPE_NAMES, expandScopes } from '../identity/index.ts';
import type { ModuleContext } from '../module-context.ts';
import { ApiDocumentError, type CompiledApi, type CompileInput } from './compiled-api.ts';
import type {
  ApiModule,
  EntitlementService,
  KeyVerifier,
  OpenApiDocument,
  SubjectEnvironments,
  TokenAuthority,
  UsageRecorder,
} from './contract.ts';
import { createCors } from './cors.ts';
import { createCredentialChecks } from './credentials.ts';
import { createDispatch } from './dispatch.ts';
import { createEntitlementChecks } from './entitlement-checks.ts';
import { createFreshStateCheck } from './fresh-state.ts';
import { createIdentityAssertions, GATEWAY_JWKS_PATH } from './identity-assertions.ts';
import { compileApi } from './openapi-compiler.ts';
import { createGatewayAjv } from './openapi-schemas.ts';
import { createPublishedDocuments } from './published-documents.ts';
import { createFailureThrottle, createRateLimits } from './rate-limits.ts';
import { describeApi, type RegisteredApi } from './registered-api.ts';
import { registerApiRoutes } from './route-registration.ts';
import { createSecurityPipeline } from './security-pipeline.ts';
import { createTokenVerifier } from './token-verifier.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';

export { ApiDocumentError } from './compiled-api.ts';
export type * from './contract.ts';
export { GATEWAY_JWKS_PATH, IDENTITY_HEADER, IDENTITY_TYP } from './identity-assertions.ts';
export type { RegisteredApi } from './registered-api.ts';

export interface GatewayOptions {
  /** Failed key/token attempts per address before it is throttled (DESIGN.md §1 row 9). Default 300. */
  preAuthFailures?: number;
  /** Window of the pre-authentication throttle, seconds. Default 60. */
  preAuthWindowSeconds?: number;
  /** Verified tokens cached. Default 10,000. */
  tokenCacheSize?: number;
}

/**
 * The gateway: compiles every registered OpenAPI operation into a route guarded by the security pipeline
 * of DESIGN.md §1 — API key → key state and subscription → access token → token/key binding → scopes
 * (all in `onRequest`, before any parsing) → rate limit → validation → entitlements → handler or upstream,
 * with every answer attributable to a key metered in `onResponse`. This file only wires the parts.
 */
export function createGateway(
  context: ModuleContext,
  deps: {
    keys: KeyVerifier;
    tokens: TokenAuthority;
    entitlements: EntitlementService;
    usage: UsageRecorder;
    /** Users' environments (DESIGN.md §5.4); without it every user counts as in the key's environment. */
    subjects?: SubjectEnvironments;
  },
  options: GatewayOptions = {},
) {
  const { config, clock, logger, baseUrl } = context;
  const ajv = createGatewayAjv();
  // The platform's catalogue plus the scopes configured upstream APIs declare.
  const allScopes = new Set<string>(API_SCOPE_NAMES);
  const tokenVerifier = createTokenVerifier({
    tokens: deps.tokens,
    clock,
    expandScopes: (granted) => expandScopes(granted, allScopes),
    cacheSize: options.tokenCacheSize,
  });
  const onStoreError = (error: unknown) =>
    logger.warn({ err: error }, 'gateway throttle store failed; counting in memory');
  const rateLimits = createRateLimits({
    shared: context.shared,
    clock,
    liveInstances: context.instances.live,
    meteredToday: deps.usage.meteredToday?.bind(deps.usage),
    onFallback: (error) =>
      logger.warn(
        { err: error, liveInstances: context.instances.live() },
        'Redis failed: rate limits fall back to per-instance memory (quota ÷ live instances)',
      ),
    onRecovered: () => logger.info('Redis answers again: rate limits are shared again'),
  });
  const throttle = createFailureThrottle({
    shared: context.shared,
    clock,
    failures: options.preAuthFailures ?? 300,
    windowSeconds: options.preAuthWindowSeconds ?? 60,
    onError: onStoreError,
  });
  const assertions = createIdentityAssertions({
    db: context.db,
    sealer: context.sealer,
    clock,
    issuer: `${baseUrl}/`,
  });
  const env = { baseUrl, clock, problems: context.problems };
  const cors = createCors({ env, keys: deps.keys });
  const credentials = createCredentialChecks({ keys: deps.keys, tokens: tokenVerifier, cors });
  const pipeline = createSecurityPipeline({
    env,
    credentials,
    cors,
    rateLimits,
    throttle,
    usage: deps.usage,
    requireFreshState: createFreshStateCheck({ changes: context.changes, signals: context.signals }),
  });
  const dispatch = createDispatch({
    baseUrl,
    clock,
    entitlements: createEntitlementChecks(deps.entitlements, deps.subjects),
    assertions,
  });
  const published = createPublishedDocuments({ baseUrl, institutionName: config.institutionName });
  const registered: CompiledApi[] = [];
  const proxies: UpstreamProxy[] = [];
  let sharedRoutesRegistered = false;

  return {
    /** Register in-process APIs and the configured upstream APIs as routes. Throws on a broken document. */
    async register(app: FastifyInstance, apis: ApiModule[]): Promise<void> {
      const inputs: CompileInput[] = apis.map((api) => ({
        name: api.name,
        source: `API module "${api.name}"`,
        document: api.document,
        handlers: api.handlers,
        resolvers: api.resolvers,
      }));
      // The configured upstream APIs (read and paired by src/config) join the first registration.
      if (!sharedRoutesRegistered) {
        for (const { name, file, upstream, document } of config.upstreamApis)
          inputs.push({ name, source: file, document, upstream });
      }
      const names = new Set(registered.map((api) => api.name));
      const compiled: CompiledApi[] = [];
      for (const input of inputs) {
        if (names.has(input.name))
          throw new ApiDocumentError(input.source, `API "${input.name}" is registered twice`);
        names.add(input.name);
        const api = compileApi(input, ajv, context.problems);
        for (const scope of api.scopes.keys()) allScopes.add(scope);
        compiled.push(api);
      }

      if (!sharedRoutesRegistered) {
        sharedRoutesRegistered = true;
        if (!app.hasRequestDecorator('gateway')) app.decorateRequest('gateway', null);
        app.get(GATEWAY_JWKS_PATH, async (_request, reply) =>
          reply
            .type('application/jwk-set+json')
            .header('cache-control', 'max-age=300')
            .send(await assertions.jwks()),
        );
      }
      proxies.push(...(await registerApiRoutes(app, compiled, { pipeline, dispatch, published, cors })));
      registered.push(...compiled);
    },

    /** Registered APIs (for `apis list` and tests): every operation with its security and checks. */
    apis(): RegisteredApi[] {
      return registered.map(describeApi);
    },

    /** The document `GET /<name>/apiDoc` publishes (the enforced one, servers and schemes filled in). */
    publishedDocument(name: string): OpenApiDocument | undefined {
      const api = registered.find((candidate) => candidate.name === name);
      return api && published.publishedDocument(api);
    },

    /** The gateway's public keys for identity assertions (also served at GATEWAY_JWKS_PATH). */
    jwks: () => assertions.jwks(),

    async stop(): Promise<void> {
      tokenVerifier.stop();
      await Promise.allSettled(proxies.map((proxy) => proxy.close()));
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;
