import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { AppError, type ValidationIssue } from '../../errors/index.ts';
import { sendProblem } from '../../http/problem-reply.ts';
import { createAjv, type HttpPart, toValidationIssues } from '../../http/validation.ts';
import { OPAQUE_ID_PATTERN } from '../../lib/ids.ts';
import { API_SCOPE_NAMES, expandScopes } from '../identity/index.ts';
import type { ModuleContext } from '../module-context.ts';
import type {
  ApiCall,
  ApiModule,
  ApiResult,
  EntitlementService,
  EntitlementView,
  KeyVerifier,
  Principal,
  TokenAuthority,
  UsageRecorder,
  VerifiedKey,
} from './contract.ts';
import { createIdentityAssertions, GATEWAY_JWKS_PATH, IDENTITY_HEADER } from './identity-assertions.ts';
import {
  ApiDocumentError,
  type CompiledApi,
  type CompiledOperation,
  type CompileInput,
  compileApi,
  QUERY_CREDENTIAL_NAMES,
  type SecurityAlternative,
} from './openapi-compiler.ts';
import { createFailureThrottle, createRateLimits } from './rate-limits.ts';
import { ANSWERS, NOT_FOUND_DETAIL, type Refusal } from './refusals.ts';
import { createTokenVerifier, type TokenVerification } from './token-verifier.ts';
import { createUpstreamProxy, type UpstreamProxy } from './upstream-proxy.ts';

export type * from './contract.ts';
export { GATEWAY_JWKS_PATH, IDENTITY_HEADER, IDENTITY_TYP } from './identity-assertions.ts';
export { ApiDocumentError } from './openapi-compiler.ts';

/** What the gateway knows about one request while it is being answered. */
interface GatewayState {
  op: CompiledOperation;
  key: VerifiedKey | undefined;
  principal: Principal | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    gateway: GatewayState | null;
  }
  interface FastifyContextConfig {
    gatewayOperation?: CompiledOperation;
    gatewayPreflight?: { methods: string[]; headers: string };
  }
}

export interface GatewayOptions {
  /** Failed key/token attempts per address before it is throttled (DESIGN.md §1 row 9). Default 300. */
  preAuthFailures?: number;
  /** Window of the pre-authentication throttle, seconds. Default 60. */
  preAuthWindowSeconds?: number;
  /** Verified tokens cached. Default 10,000. */
  tokenCacheSize?: number;
}

const API_KEY_HEADER = 'api-key';
const BEARER = /^bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i;
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$|^https?:\/\/\[[0-9a-fA-F:.]+\](?::\d{1,5})?$/;
const EXPOSED_HEADERS =
  'RateLimit, RateLimit-Policy, Retry-After, X-Request-Id, ETag, Location, WWW-Authenticate, X-FAPI-Interaction-ID';
const CORS_REQUEST_HEADERS = [
  'API-Key',
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'If-Match',
  'If-None-Match',
  'X-FAPI-Interaction-ID',
];
const THROTTLED_FAILURES = new Set<Refusal>(['keyInvalid', 'tokenInvalid']);

/**
 * The gateway: compiles every registered OpenAPI operation into a route guarded by the security pipeline
 * of DESIGN.md §1 — API key → key state and subscription → access token → token/key binding → scopes
 * (all in `onRequest`, before any parsing) → rate limit → validation → entitlements → handler or upstream,
 * with every answer attributable to a key metered in `onResponse`.
 */
export function createGateway(
  context: ModuleContext,
  deps: {
    keys: KeyVerifier;
    tokens: TokenAuthority;
    entitlements: EntitlementService;
    usage: UsageRecorder;
  },
  options: GatewayOptions = {},
) {
  const { config, clock, logger, baseUrl } = context;
  const env = { baseUrl, clock };
  const publicUrl = new URL(baseUrl);
  const selfOrigin = publicUrl.origin;
  const ajv = { body: createAjv({ coerce: false }), params: createAjv({ coerce: true }) };
  // OpenAPI: a readOnly property belongs to responses; in a request body it is a privileged field the
  // client may not set (OWASP API3), so its presence is a validation error rather than silently ignored.
  ajv.body.removeKeyword('readOnly');
  ajv.body.addKeyword({
    keyword: 'readOnly',
    schemaType: 'boolean',
    validate: (readOnly: boolean) => !readOnly,
  });
  // The platform's catalogue plus the scopes configured upstream APIs declare.
  const allScopes = new Set<string>(API_SCOPE_NAMES);
  const tokenVerifier = createTokenVerifier({
    tokens: deps.tokens,
    clock,
    expandScopes: (granted) => expandScopes(granted, allScopes),
    cacheSize: options.tokenCacheSize,
  });
  const onStoreError = (error: unknown) =>
    logger.warn({ err: error }, 'gateway rate-limit store failed; allowing');
  const rateLimits = createRateLimits({ shared: context.shared, onError: onStoreError });
  const throttle = createFailureThrottle({
    shared: context.shared,
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
  const registered: CompiledApi[] = [];
  const proxies: UpstreamProxy[] = [];
  // Origins seen on verified keys: lets preflights (which carry no key) pass when the key verifier cannot
  // answer "is this origin registered anywhere?" itself.
  const learnedOrigins = new Set<string>();
  let sharedRoutesRegistered = false;

  // ---- the security pipeline (rows 1–7, then the rate limit) ------------------------------------

  const verifyKey = async (
    request: FastifyRequest,
  ): Promise<{ ok: true; key: VerifiedKey } | { ok: false; reason: Refusal; why: string }> => {
    const presented = request.headers[API_KEY_HEADER];
    if (presented === undefined || presented === '')
      return { ok: false, reason: 'keyMissing', why: 'missing' };
    if (typeof presented !== 'string') return { ok: false, reason: 'keyInvalid', why: 'malformed' };
    const result = await deps.keys.verify(presented);
    if (result.ok) {
      for (const origin of result.key.corsOrigins)
        if (learnedOrigins.size < 100_000) learnedOrigins.add(origin);
      return result;
    }
    switch (result.reason) {
      case 'pending':
      case 'suspended':
      case 'applicationPending':
      case 'applicationSuspended':
        return { ok: false, reason: 'keyNotActive', why: result.reason };
      default:
        return { ok: false, reason: 'keyInvalid', why: result.reason };
    }
  };

  const verifyToken = async (
    request: FastifyRequest,
  ): Promise<TokenVerification | { ok: false; reason: 'tokenMissing'; why: string }> => {
    const header = request.headers.authorization;
    if (header === undefined) return { ok: false, reason: 'tokenMissing', why: 'missing' };
    const match = BEARER.exec(header);
    if (!match?.[1]) {
      // Another scheme (Basic, DPoP …) is no bearer token at all; a broken Bearer header is a bad token.
      return /^bearer\b/i.test(header)
        ? { ok: false, reason: 'tokenInvalid', why: 'malformed' }
        : { ok: false, reason: 'tokenMissing', why: 'other scheme' };
    }
    return tokenVerifier.verifyCached(match[1]) ?? tokenVerifier.verify(match[1]);
  };

  type Outcome = { ok: true } | { ok: false; reason: Refusal; why: string; alternative: SecurityAlternative };

  const authenticate = async (request: FastifyRequest, state: GatewayState): Promise<Outcome> => {
    const { op } = state;
    let keyResult: Awaited<ReturnType<typeof verifyKey>> | undefined;
    let tokenResult: Awaited<ReturnType<typeof verifyToken>> | undefined;
    let first: Outcome | undefined;
    for (const alternative of op.security) {
      let refusal: { reason: Refusal; why: string } | undefined;
      let principal: Principal | undefined;
      if (alternative.apiKey) {
        keyResult ??= await verifyKey(request);
        if (!keyResult.ok) refusal = keyResult;
        else {
          const key = keyResult.key;
          state.key = key;
          const origin = request.headers.origin;
          if (key.apis !== '*' && !key.apis.includes(op.api))
            refusal = { reason: 'notSubscribed', why: op.api };
          else if (origin !== undefined && origin !== selfOrigin && !key.corsOrigins.includes(origin)) {
            refusal = { reason: 'originNotAllowed', why: String(origin).slice(0, 200) };
          }
        }
      }
      if (!refusal && alternative.token) {
        tokenResult ??= await verifyToken(request);
        if (!tokenResult.ok) refusal = tokenResult;
        else {
          principal = tokenResult.principal;
          if (alternative.apiKey && state.key && principal.clientId !== state.key.clientId) {
            refusal = { reason: 'wrongClient', why: principal.clientId };
          } else {
            const missing = alternative.scopes.find((scope) => !principal?.scopes.has(scope));
            if (missing !== undefined) refusal = { reason: 'insufficientScope', why: missing };
          }
        }
      }
      if (!refusal) {
        state.principal = principal;
        if (principal?.userId) request.logContext.userId = principal.userId;
        return { ok: true };
      }
      first ??= { ok: false, ...refusal, alternative };
    }
    if (!first) return { ok: true };
    return first;
  };

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    reason: Refusal,
    why: string,
    alternative?: SecurityAlternative,
    headers: Record<string, string> = {},
  ) => {
    const answer = ANSWERS[reason];
    request.logContext.refusal = `${reason}:${why}`;
    if (answer.challenge) headers['www-authenticate'] = answer.challenge(alternative);
    return sendProblem(request, reply, env, answer.type, {
      detail: answer.detail,
      remediation: answer.remediation,
      headers,
    });
  };

  const setCors = (request: FastifyRequest, reply: FastifyReply, key: VerifiedKey) => {
    const origin = request.headers.origin;
    if (origin === undefined || origin === selfOrigin || !key.corsOrigins.includes(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    reply.header('vary', 'Origin');
  };

  const onRequest = async (request: FastifyRequest, reply: FastifyReply) => {
    const op = request.routeOptions.config.gatewayOperation;
    if (!op) return;
    const state: GatewayState = { op, key: undefined, principal: undefined };
    request.gateway = state;
    const address = request.ip;
    const blocked = throttle.blockedFor(address);
    if (blocked > 0) {
      return refuse(request, reply, 'preAuthThrottled', address, undefined, {
        'retry-after': String(blocked),
        ratelimit: `"failures";r=0;t=${blocked}`,
        'ratelimit-policy': throttle.policy,
      });
    }
    if (op.security.length === 0) return;
    const outcome = await authenticate(request, state);
    const key = state.key;
    if (key) {
      request.logContext.applicationId = key.applicationId;
      request.logContext.apiKeyId = key.keyId;
      setCors(request, reply, key);
    }
    if (!outcome.ok) {
      if (THROTTLED_FAILURES.has(outcome.reason)) throttle.recordFailure(address);
      const headers: Record<string, string> = {};
      if (key) {
        const { policy, state: current } = await rateLimits.peek(key.keyId, key.plan);
        headers['ratelimit-policy'] = policy;
        headers.ratelimit = current;
      }
      return refuse(request, reply, outcome.reason, outcome.why, outcome.alternative, headers);
    }
    if (key) {
      const decision = await rateLimits.consume(key.keyId, key.plan);
      reply.header('ratelimit-policy', decision.policy);
      reply.header('ratelimit', decision.state);
      if (!decision.allowed) {
        return refuse(request, reply, 'rateLimited', key.keyId, undefined, {
          'retry-after': String(decision.retryAfter),
        });
      }
    }
  };

  const onResponse = async (request: FastifyRequest, reply: FastifyReply) => {
    const state = request.gateway;
    if (!state?.key) return;
    deps.usage.record({
      keyId: state.key.keyId,
      applicationId: state.key.applicationId,
      api: state.op.api,
      operationId: state.op.operationId,
      status: reply.statusCode,
      at: clock.now(),
      reason: request.logContext.refusal,
      abuseExempt: state.key.abuseExempt,
    });
  };

  // ---- validation and entitlements (after the rate limit) -------------------------------------

  const notFound = (reason: string) => new AppError('notFound', { detail: NOT_FOUND_DETAIL, reason });
  const invalid = (part: HttpPart, errors: Parameters<typeof toValidationIssues>[1]) => {
    for (const error of errors ?? []) if (error.keyword === 'readOnly') error.message = 'is read-only';
    return new AppError('badRequest', {
      detail: 'The request is not valid.',
      errors: toValidationIssues(part, errors),
    });
  };

  interface ValidInput {
    params: Record<string, string>;
    query: Record<string, unknown>;
    body: unknown;
    contentType: string | undefined;
  }

  const validate = (request: FastifyRequest, op: CompiledOperation, rawBody: boolean): ValidInput => {
    const params = (request.params ?? {}) as Record<string, string>;
    // Ids are opaque: anything else in an id position does not exist (404, never 400 or 414).
    for (const name of op.pathParams) {
      const value = params[name];
      if (value === undefined || !OPAQUE_ID_PATTERN.test(value)) throw notFound(`malformed ${name}`);
    }
    if (op.validatePath && !op.validatePath({ ...params })) throw notFound('path parameter schema');

    const query: Record<string, unknown> = { ...(request.query as Record<string, unknown>) };
    // Credentials in a URL are ignored (never accepted, never echoed).
    for (const name of Object.keys(query)) {
      if (QUERY_CREDENTIAL_NAMES.has(name.toLowerCase()) && !op.queryNames.has(name)) delete query[name];
    }
    if (op.validateQuery && !op.validateQuery(query)) throw invalid('query', op.validateQuery.errors);

    if (op.validateHeaders) {
      const headers: Record<string, unknown> = {};
      for (const { lower } of op.headerParams) {
        const value = request.headers[lower];
        if (value !== undefined) headers[lower] = value;
      }
      if (!op.validateHeaders(headers)) {
        const issues = toValidationIssues('header', op.validateHeaders.errors).map((issue) => ({
          ...issue,
          name: op.headerParams.find((h) => h.lower === issue.name)?.name ?? issue.name,
        }));
        throw new AppError('badRequest', { detail: 'The request is not valid.', errors: issues });
      }
    }

    const contentTypeHeader = request.headers['content-type'];
    const contentType = contentTypeHeader?.split(';')[0]?.trim().toLowerCase() || undefined;
    let body = request.body;
    const hasBody = body !== undefined && !(Buffer.isBuffer(body) && body.length === 0 && !contentType);
    if (!op.body) {
      if (hasBody) {
        throw new AppError('unsupportedMediaType', {
          detail: 'This operation does not take a request body.',
        });
      }
      return { params, query, body: undefined, contentType: undefined };
    }
    if (!hasBody) {
      if (op.body.required) {
        const issues: ValidationIssue[] = [{ in: 'body', name: 'body', message: 'is required' }];
        throw new AppError('badRequest', { detail: 'The request needs a body.', errors: issues });
      }
      return { params, query, body: undefined, contentType: undefined };
    }
    const mediaType = contentType ? matchMediaType(op.body.mediaTypes, contentType) : undefined;
    if (mediaType === undefined) {
      throw new AppError('unsupportedMediaType', {
        detail: `Send the body as ${[...op.body.mediaTypes.keys()].join(' or ')}.`,
      });
    }
    const validator = op.body.mediaTypes.get(mediaType);
    if (validator) {
      if (rawBody && Buffer.isBuffer(body)) {
        try {
          body = JSON.parse(body.toString('utf8'));
        } catch {
          throw new AppError('badRequest', { detail: 'The body is not valid JSON.' });
        }
      }
      if (!validator(body)) throw invalid('body', validator.errors);
    } else if (op.body.maxBytes !== undefined && Buffer.isBuffer(body) && body.length > op.body.maxBytes) {
      throw new AppError('payloadTooLarge', { detail: 'The request body is too large.' });
    }
    return { params, query, body, contentType };
  };

  const checkEntitlements = async (
    op: CompiledOperation,
    input: ValidInput,
    principal: Principal | undefined,
  ) => {
    for (const check of op.checks) {
      let value: unknown;
      if (check.in === 'path') value = input.params[check.name];
      else if (check.in === 'query') value = input.query[check.name];
      else
        value = check.pointer.reduce<unknown>(
          (node, token) => (isRecord(node) ? node[token] : undefined),
          input.body,
        );
      if (value === undefined) continue;
      const bodyCheck = check.in === 'body';
      const visible = bodyCheck ? check.notVisibleAnswer : check.notPermittedAnswer;
      const refuseWith = (answer: { status: number; type: string }, reason: string) =>
        answer.type === 'notFound'
          ? notFound(reason)
          : new AppError(answer.type, {
              detail:
                answer === check.notVisibleAnswer
                  ? `The ${check.resource} given in ${check.name} does not exist or is not available.`
                  : `You may not use this ${check.resource} this way (${check.permission}).`,
              reason,
            });
      if (!principal || typeof value !== 'string' || !OPAQUE_ID_PATTERN.test(value)) {
        throw refuseWith(bodyCheck ? check.notVisibleAnswer : visible, `notEntitled:${check.name}`);
      }
      const resourceId = check.resolve ? await check.resolve(value) : value;
      if (resourceId === undefined)
        throw refuseWith(check.notVisibleAnswer, `notEntitled:${check.name}:unresolved`);
      if (
        bodyCheck &&
        !(await deps.entitlements.has(principal.subject, check.resource, resourceId, 'view'))
      ) {
        throw refuseWith(check.notVisibleAnswer, `notEntitled:${check.name}:view`);
      }
      if (!(await deps.entitlements.has(principal.subject, check.resource, resourceId, check.permission))) {
        throw refuseWith(check.notPermittedAnswer, `notEntitled:${check.name}:${check.permission}`);
      }
    }
  };

  const entitlementView = (principal: Principal | undefined): EntitlementView => {
    const empty: ReadonlySet<string> = new Set();
    if (!principal) return { has: async () => false, ids: async () => empty };
    return {
      has: (type, id, permission) => deps.entitlements.has(principal.subject, type, id, permission),
      ids: (type, permission) => deps.entitlements.ids(principal.subject, type, permission),
    };
  };

  const sendResult = (reply: FastifyReply, result: ApiResult) => {
    reply.code(result.status);
    if (result.headers) reply.headers(result.headers);
    const body = result.body;
    if (body === undefined || body === null) return reply.send();
    if (Buffer.isBuffer(body) || typeof body === 'string') {
      return reply.type(result.contentType ?? 'application/octet-stream').send(body);
    }
    return reply.type(result.contentType ?? 'application/json; charset=utf-8').send(JSON.stringify(body));
  };

  const handleInProcess = async (request: FastifyRequest, reply: FastifyReply) => {
    const state = request.gateway as GatewayState;
    const { op, principal } = state;
    const input = validate(request, op, false);
    await checkEntitlements(op, input, principal);
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (name === API_KEY_HEADER || name === 'authorization' || name === 'cookie') continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const call: ApiCall = {
      api: op.api,
      operationId: op.operationId,
      params: input.params,
      query: input.query,
      headers,
      body: input.body,
      contentType: input.contentType,
      principal,
      key: state.key as VerifiedKey,
      entitlements: entitlementView(principal),
      requestId: request.id,
      baseUrl,
      now: clock.now(),
    };
    return sendResult(reply, await (op.handler as NonNullable<CompiledOperation['handler']>)(call));
  };

  const handleUpstream =
    (api: CompiledApi, proxy: UpstreamProxy) => async (request: FastifyRequest, reply: FastifyReply) => {
      const state = request.gateway as GatewayState;
      const { op, key, principal } = state;
      const input = validate(request, op, true);
      await checkEntitlements(op, input, principal);
      const raw = request.raw.url ?? '/';
      const queryAt = raw.indexOf('?');
      const pathname = (queryAt === -1 ? raw : raw.slice(0, queryAt)).slice(api.name.length + 1);
      let search = queryAt === -1 ? '' : raw.slice(queryAt);
      if (search && /(?:^|[?&])(?:access_token|api_key|apikey|api-key|key)=/i.test(search)) {
        const params = new URLSearchParams(search);
        for (const name of [...params.keys()]) {
          if (QUERY_CREDENTIAL_NAMES.has(name.toLowerCase()) && !op.queryNames.has(name)) params.delete(name);
        }
        const rest = params.toString();
        search = rest ? `?${rest}` : '';
      }
      const identity = await assertions.assert(api.name, `${baseUrl}/${api.name}`, key, principal);
      const upstream = await proxy.forward({
        method: request.method,
        pathAndQuery: pathname + search,
        headers: request.headers,
        declaredHeaders: op.headerParams.map((h) => h.lower),
        extraHeaders: {
          [IDENTITY_HEADER]: identity,
          'x-request-id': request.id,
          'x-forwarded-for': request.ip,
          'x-forwarded-proto': new URL(baseUrl).protocol.replace(':', ''),
          'x-forwarded-host': new URL(baseUrl).host,
        },
        body: Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body : undefined,
      });
      reply.code(upstream.status);
      reply.headers(upstream.headers);
      return reply.send(upstream.body);
    };

  // ---- generated operations: API root and apiDoc ----------------------------------------------

  const publishedDocument = (api: CompiledApi) => {
    const doc = structuredClone(api.document) as Record<string, unknown> & {
      components?: Record<string, unknown>;
      paths?: Record<string, unknown>;
    };
    doc.servers = [{ url: `${baseUrl}/${api.name}`, description: config.institutionName }];
    const components = (doc.components ?? {}) as Record<string, unknown>;
    doc.components = components;
    const schemes = (components.securitySchemes ?? {}) as Record<string, Record<string, unknown>>;
    components.securitySchemes = schemes;
    const scopes = Object.fromEntries(api.scopes.size ? api.scopes : API_SCOPE_NAMES.map((s) => [s, s]));
    const flows = {
      authorizationCode: {
        authorizationUrl: `${baseUrl}/auth/oauth2/authorize`,
        tokenUrl: `${baseUrl}/auth/oauth2/token`,
        refreshUrl: `${baseUrl}/auth/oauth2/token`,
        scopes,
      },
    };
    let hasKey = false;
    let hasToken = false;
    for (const [name, scheme] of Object.entries(schemes)) {
      if (scheme.type === 'apiKey') {
        hasKey = true;
        schemes[name] = { ...scheme, in: 'header', name: 'API-Key' };
      } else if (scheme.type === 'oauth2') {
        hasToken = true;
        schemes[name] = { ...scheme, flows };
      }
    }
    if (!hasKey) schemes.apiKey = { type: 'apiKey', in: 'header', name: 'API-Key' };
    if (!hasToken) schemes.accessToken = { type: 'oauth2', flows };
    const generatedResponses = {
      '200': { description: 'OK' },
      '401': { description: 'Missing or invalid credentials.' },
      '403': { description: 'Credentials not allowed here.' },
      '429': { description: 'Rate limit exceeded.' },
    };
    doc.paths = {
      '/': {
        get: {
          operationId: `${api.name}.root`,
          summary: 'API root: name, version and links',
          security: api.publicSecurityRaw,
          responses: generatedResponses,
        },
      },
      '/apiDoc': {
        get: {
          operationId: `${api.name}.apiDoc`,
          summary: 'This OpenAPI document',
          security: api.publicSecurityRaw,
          responses: generatedResponses,
        },
      },
      ...(doc.paths ?? {}),
    };
    return JSON.stringify(doc);
  };

  const rootDocument = (api: CompiledApi) => {
    const links: Record<string, { href: string; title?: string }> = {
      self: { href: `${baseUrl}/${api.name}/` },
      apiDoc: { href: `${baseUrl}/${api.name}/apiDoc` },
    };
    for (const op of api.operations) {
      if (op.kind === 'root' || op.kind === 'apiDoc' || op.method !== 'GET') continue;
      const collection = op.path.split('/')[1];
      if (collection && !collection.includes('{') && op.path === `/${collection}` && !links[collection]) {
        links[collection] = { href: `${baseUrl}/${api.name}/${collection}` };
      }
    }
    return JSON.stringify({ name: api.name, title: api.title, apiVersion: api.version, _links: links });
  };

  const generatedHandler = (api: CompiledApi, kind: 'root' | 'apiDoc') => {
    let body: string | undefined;
    const type =
      kind === 'root' ? 'application/hal+json; charset=utf-8' : 'application/openapi+json; charset=utf-8';
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const state = request.gateway as GatewayState;
      validate(request, state.op, false);
      body ??= kind === 'root' ? rootDocument(api) : publishedDocument(api);
      return reply.code(200).type(type).send(body);
    };
  };

  // ---- CORS preflight ----------------------------------------------------------------------------

  const originRegistered = async (origin: string) =>
    origin === selfOrigin ||
    learnedOrigins.has(origin) ||
    (await deps.keys.isRegisteredOrigin?.(origin)) === true;

  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    const spec = request.routeOptions.config.gatewayPreflight as { methods: string[]; headers: string };
    const requested = request.headers['access-control-request-method'];
    const origin = request.headers.origin;
    if (requested === undefined)
      return reply
        .code(204)
        .header('allow', ['OPTIONS', ...spec.methods].join(', '))
        .send();
    // Preflights carry no credentials: they are answered from registered origins only, never reflected
    // blindly, and an opaque `null` origin is refused.
    if (origin === undefined || !ORIGIN.test(origin) || !(await originRegistered(origin))) {
      request.logContext.refusal = 'originNotAllowed:preflight';
      return sendProblem(request, reply, env, 'forbidden', { detail: 'This origin is not allowed.' });
    }
    if (!spec.methods.includes(String(requested).toUpperCase())) {
      request.logContext.refusal = 'methodNotAllowed:preflight';
      return sendProblem(request, reply, env, 'forbidden', { detail: 'This method is not allowed here.' });
    }
    return reply
      .code(204)
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', spec.methods.join(', '))
      .header('access-control-allow-headers', spec.headers)
      .header('access-control-max-age', '600')
      .header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers')
      .send();
  };

  // ---- route registration ----------------------------------------------------------------------

  const loadConfiguredApis = (): CompileInput[] => {
    let apis: Record<string, string> = {};
    let upstreams: Record<string, string> = {};
    if (config.configFile) {
      const file = config.configFile;
      let parsed: unknown;
      try {
        parsed = parseStructured(readFileSync(file, 'utf8'), file);
      } catch (error) {
        throw new ApiDocumentError(file, `cannot read the configuration file (${(error as Error).message})`);
      }
      const dir = path.dirname(file);
      if (isRecord(parsed) && isRecord(parsed.apis)) {
        for (const [name, value] of Object.entries(parsed.apis))
          apis[name] = path.resolve(dir, String(value));
      }
      if (isRecord(parsed) && isRecord(parsed.upstreams)) {
        for (const [name, value] of Object.entries(parsed.upstreams)) upstreams[name] = String(value);
      }
    }
    apis = {
      ...apis,
      ...Object.fromEntries(Object.entries(config.apis).map(([n, f]) => [n, path.resolve(f)])),
    };
    upstreams = { ...upstreams, ...config.upstreams };
    const inputs: CompileInput[] = [];
    for (const [name, file] of Object.entries(apis)) {
      const upstream = upstreams[name];
      if (!upstream)
        throw new ApiDocumentError(file, `API "${name}" has no upstream (--upstream ${name}=<url>)`);
      let url: URL;
      try {
        url = new URL(upstream);
      } catch {
        throw new ApiDocumentError(file, `the upstream of "${name}" is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ApiDocumentError(file, `the upstream of "${name}" must be an http(s) URL`);
      }
      let document: unknown;
      try {
        document = parseStructured(readFileSync(file, 'utf8'), file);
      } catch (error) {
        throw new ApiDocumentError(file, `cannot read the OpenAPI document (${(error as Error).message})`);
      }
      inputs.push({ name, source: file, document, upstream });
    }
    for (const name of Object.keys(upstreams)) {
      if (!apis[name])
        throw new ApiDocumentError(`--upstream ${name}`, `no OpenAPI document (--api ${name}=<file>)`);
    }
    return inputs;
  };

  const addRoutes = (
    scope: FastifyInstance,
    api: CompiledApi,
    handler: (op: CompiledOperation) => (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) => {
    const methodsByUrl = new Map<string, { methods: string[]; headers: Set<string> }>();
    for (const op of api.operations) {
      const bodyLimit = op.body?.maxBytes;
      scope.route({
        method: op.method as 'GET',
        url: op.url,
        config: { gatewayOperation: op },
        ...(bodyLimit ? { bodyLimit } : {}),
        handler: op.kind === 'root' || op.kind === 'apiDoc' ? generatedHandler(api, op.kind) : handler(op),
      });
      let entry = methodsByUrl.get(op.url);
      if (!entry) {
        entry = { methods: [], headers: new Set(CORS_REQUEST_HEADERS) };
        methodsByUrl.set(op.url, entry);
      }
      entry.methods.push(op.method);
      for (const header of op.headerParams) entry.headers.add(header.name);
    }
    for (const [url, { methods, headers }] of methodsByUrl) {
      scope.route({
        method: 'OPTIONS',
        url,
        config: { gatewayPreflight: { methods, headers: [...headers].join(', ') } },
        handler: preflight,
      });
    }
  };

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
      if (!sharedRoutesRegistered) inputs.push(...loadConfiguredApis());
      const names = new Set(registered.map((api) => api.name));
      const compiled: CompiledApi[] = [];
      for (const input of inputs) {
        if (names.has(input.name))
          throw new ApiDocumentError(input.source, `API "${input.name}" is registered twice`);
        names.add(input.name);
        const api = compileApi(input, ajv);
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

      const inProcess = compiled.filter((api) => api.upstream === undefined);
      if (inProcess.length > 0) {
        await app.register(async (scope) => {
          scope.addHook('onRequest', onRequest);
          scope.addHook('onResponse', onResponse);
          const jsonParser = scope.getDefaultJsonParser('error', 'error');
          const added = new Set(['application/json']);
          for (const api of inProcess) {
            for (const op of api.operations) {
              for (const [mediaType, validator] of op.body?.mediaTypes ?? []) {
                if (added.has(mediaType) || mediaType.includes('*')) continue;
                added.add(mediaType);
                if (validator) scope.addContentTypeParser(mediaType, { parseAs: 'string' }, jsonParser);
                else
                  scope.addContentTypeParser(mediaType, { parseAs: 'buffer' }, (_r, body, done) =>
                    done(null, body),
                  );
              }
            }
            addRoutes(scope, api, () => handleInProcess);
          }
        });
      }
      for (const api of compiled.filter((a) => a.upstream !== undefined)) {
        const proxy = createUpstreamProxy(api.upstream as string);
        proxies.push(proxy);
        await app.register(async (scope) => {
          scope.addHook('onRequest', onRequest);
          scope.addHook('onResponse', onResponse);
          // Bodies are forwarded byte for byte; JSON is parsed only to validate it.
          scope.removeAllContentTypeParsers();
          scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
          const handler = handleUpstream(api, proxy);
          addRoutes(scope, api, () => handler);
        });
      }
      registered.push(...compiled);
    },

    /** Registered APIs (for `apis list` and tests): every operation with its security and checks. */
    apis(): RegisteredApi[] {
      return registered.map((api) => ({
        name: api.name,
        title: api.title,
        version: api.version,
        source: api.source,
        upstream: api.upstream,
        operations: api.operations.map((op) => ({
          operationId: op.operationId,
          method: op.method,
          path: op.path,
          url: op.url,
          security: op.security.map((a) => ({ apiKey: a.apiKey, token: a.token, scopes: [...a.scopes] })),
          checks: op.checks.map((c) => ({
            resource: c.resource,
            in: c.in,
            name: c.name,
            permission: c.permission,
            resolver: c.resolver,
          })),
          requiredQuery: [...op.requiredQuery],
        })),
      }));
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

/** An API as `apis()` describes it. */
export interface RegisteredApi {
  name: string;
  title: string;
  version: string;
  source: string;
  upstream: string | undefined;
  operations: {
    operationId: string;
    method: string;
    path: string;
    url: string;
    security: { apiKey: boolean; token: boolean; scopes: string[] }[];
    checks: {
      resource: string;
      in: string;
      name: string;
      permission: string;
      resolver: string | undefined;
    }[];
    requiredQuery: string[];
  }[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseStructured(text: string, file: string): unknown {
  return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
}

function matchMediaType(declared: Map<string, unknown>, contentType: string): string | undefined {
  if (declared.has(contentType)) return contentType;
  const major = contentType.split('/')[0];
  if (declared.has(`${major}/*`)) return `${major}/*`;
  if (declared.has('*/*')) return '*/*';
  return undefined;
}
