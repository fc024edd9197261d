import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CompiledApi } from './compiled-api.ts';
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
  return proxies;
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
