import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import { AppError } from '../../errors/index.ts';
import type { CompiledApi, CompiledOperation } from './compiled-api.ts';
import { CORS_REQUEST_HEADERS, type Cors } from './cors.ts';
import type { Dispatch } from './dispatch.ts';
import type { PublishedDocuments } from './published-documents.ts';
import type { SecurityPipeline } from './security-pipeline.ts';
import { createUpstreamProxy, type UpstreamProxy } from './upstream-proxy.ts';

type RouteHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

interface Parts {
  pipeline: SecurityPipeline;
  dispatch: Dispatch;
  published: PublishedDocuments;
  cors: Cors;
}

/**
 * Every compiled operation becomes one Fastify route carrying its compiled operation; every path also gets
 * an `OPTIONS` route for CORS preflights. In-process APIs share one encapsulated scope (JSON parsed, plus
 * the binary media types their documents accept); each upstream API gets its own scope where bodies stay
 * bytes, forwarded exactly as received. Returns the upstream connection pools (closed on stop).
 */
export async function registerApiRoutes(
  app: FastifyInstance,
  compiled: readonly CompiledApi[],
  parts: Parts,
): Promise<UpstreamProxy[]> {
  const proxies: UpstreamProxy[] = [];
  const inProcess = compiled.filter((api) => api.upstream === undefined);
  if (inProcess.length > 0) {
    await app.register(async (scope) => {
      guard(scope, parts.pipeline);
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
        addRoutes(scope, api, parts, parts.dispatch.inProcess);
      }
    });
  }
  for (const api of compiled.filter((a) => a.upstream !== undefined)) {
    const proxy = createUpstreamProxy(api.upstream as string);
    proxies.push(proxy);
    await app.register(async (scope) => {
      guard(scope, parts.pipeline);
      // Bodies are forwarded byte for byte; JSON is parsed only to validate it.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
      addRoutes(scope, api, parts, parts.dispatch.upstream(api, proxy));
    });
  }
  for (const api of compiled) await addUnroutedAnswers(app, api, parts.pipeline);
  return proxies;
}

/** The pseudo-operation of a request under an API's prefix that matches none of its routes. */
const unroutedOperation = (api: CompiledApi): CompiledOperation => ({
  api: api.name,
  operationId: `${api.name}.unrouted`,
  method: '*',
  path: '/*',
  url: `/${api.name}/*`,
  kind: 'handler',
  security: [{ apiKey: true, token: false, scopes: [], scopeText: '' }],
  pathParams: [],
  validatePath: undefined,
  queryNames: new Set(),
  requiredQuery: [],
  validateQuery: undefined,
  headerParams: [],
  validateHeaders: undefined,
  body: undefined,
  checks: [],
  handler: undefined,
});

const UNSUPPORTED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);

/**
 * Issue 10 #13: answers under `/<api>` that fail routing (405 on a known path, 404 elsewhere) go through
 * the gateway too, so a verified key's answer carries `RateLimit` headers and is metered. A not-found
 * handler scoped to the API's prefix catches them; its `onRequest` hook answers before any body is read
 * (so a bad body on a wrong path is still 404, never 400/415), with the same problems the server's
 * generic not-found handler gives.
 */
async function addUnroutedAnswers(app: FastifyInstance, api: CompiledApi, pipeline: SecurityPipeline) {
  const router = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 2048 });
  const methodsByUrl = new Map<string, string[]>();
  for (const op of api.operations) {
    let methods = methodsByUrl.get(op.url);
    if (!methods) {
      methods = [];
      methodsByUrl.set(op.url, methods);
      router.on('GET', op.url, () => {}, { url: op.url });
    }
    methods.push(op.method);
  }
  const op = unroutedOperation(api);
  const routingAnswer = (request: FastifyRequest) => {
    const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
    const match = router.find('GET', path);
    const methods = match && methodsByUrl.get((match.store as { url: string }).url);
    if (methods) {
      const allow = [...methods, 'OPTIONS'].join(', ');
      return new AppError('methodNotAllowed', {
        detail: `${request.method} is not allowed here; use ${allow}.`,
        headers: { allow },
        reason: 'unrouted',
      });
    }
    if (UNSUPPORTED_METHODS.has(request.method)) {
      return new AppError('methodNotAllowed', {
        detail: `${request.method} is not supported.`,
        reason: 'unrouted',
      });
    }
    return new AppError('notFound', { detail: 'There is no resource at this address.', reason: 'unrouted' });
  };
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', async (request, reply) => {
        if (await pipeline.onUnrouted(request, reply, op)) return reply;
        throw routingAnswer(request);
      });
      scope.addHook('onResponse', pipeline.onResponse);
      // Never reached (the hook above answers); it only routes the API's unmatched paths to this scope.
      scope.setNotFoundHandler((request) => {
        throw routingAnswer(request);
      });
    },
    { prefix: `/${api.name}` },
  );
}

function guard(scope: FastifyInstance, pipeline: SecurityPipeline) {
  scope.addHook('onRequest', pipeline.onRequest);
  scope.addHook('onResponse', pipeline.onResponse);
}

function addRoutes(scope: FastifyInstance, api: CompiledApi, parts: Parts, handler: RouteHandler) {
  const methodsByUrl = new Map<string, { methods: string[]; headers: Set<string> }>();
  for (const op of api.operations) {
    const bodyLimit = op.body?.maxBytes;
    scope.route({
      method: op.method as 'GET',
      url: op.url,
      config: { gatewayOperation: op },
      ...(bodyLimit ? { bodyLimit } : {}),
      handler: op.kind === 'root' || op.kind === 'apiDoc' ? parts.published.handler(api, op.kind) : handler,
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
      handler: parts.cors.preflight,
    });
  }
}
