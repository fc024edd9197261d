import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import FindMyWay from 'find-my-way';
import { createProblemCatalogue, isAppError, type ProblemCatalogue } from '../errors/index.ts';
import type { Clock } from '../lib/clock.ts';
import { newRequestId, randomBase62 } from '../lib/ids.ts';
import { createRawAnswers, PROBE_HEADER, routableUrl, unroutedAnswer } from './edge-answers.ts';
import type { Logger } from './logger.ts';
import { describeError, httpPartOf, type ProblemEnv, sendProblem } from './problem-reply.ts';
import { applySecurityHeaders } from './security-headers.ts';
import { TLS_POLICY } from './tls.ts';
import { createAjv, toValidationIssues } from './validation.ts';

export interface HttpServerOptions {
  /** Public base URL (problem `type` URIs). */
  baseUrl: string;
  clock: Clock;
  logger: Logger;
  /** The app's problem types (assembled by createApp); default: the generic types only. */
  problems?: ProblemCatalogue;
  /** TLS key/cert pairs (EC and RSA); undefined means plain HTTP behind a trusted proxy. */
  tls: { key: string[]; cert: string[] } | undefined;
  /** Proxy addresses/CIDRs whose forwarded headers are trusted (plain-HTTP mode). */
  trustProxy: readonly string[];
  /** JSON body limit in bytes. */
  bodyLimit?: number;
}

/** Extra request fields the request log line picks up once modules know them. */
export interface RequestLogContext {
  applicationId?: string;
  userId?: string;
  apiKeyId?: string;
  /** Why the request was refused, for the log only. */
  refusal?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    logContext: RequestLogContext;
  }
}

const MAX_URL_LENGTH = 8192;
const MAX_HEADER_BYTES = 16 * 1024;
const FAPI_INTERACTION_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Fastify with Strongroom's plumbing: TLS 1.2+, request ids, security headers, timeouts against slow
 * clients, problem+json for every error (404/405/413/414/415/431/400/500), and one request log line
 * without query strings or secrets.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { baseUrl, clock, logger } = options;
  const problems = options.problems ?? createProblemCatalogue();
  const env: ProblemEnv = { baseUrl, clock, problems };

  // Answers still being prepared when close() begins tell their clients to close the connection, so the
  // server stops as soon as they are sent instead of waiting out each client's keep-alive timeout.
  const rawAnswers = createRawAnswers(env, logger);
  const probeToken = randomBase62(24);
  const answering = new Set<http.ServerResponse>();
  let closing = false;
  const track: (handler: http.RequestListener) => http.RequestListener = (handler) => (request, response) => {
    if (closing) response.setHeader('connection', 'close');
    answering.add(response);
    response.once('close', () => answering.delete(response));
    handler(request, response);
  };

  const serverFactory = (handler: http.RequestListener) => {
    const common = {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 2_000,
      // A missing Host is answered by our pipeline (Node's own 400 has no body and none of our headers).
      requireHostHeader: false,
    };
    const server = options.tls
      ? https.createServer(
          { ...common, ...TLS_POLICY, key: options.tls.key, cert: options.tls.cert },
          track(handler),
        )
      : http.createServer(common, track(handler));
    // HTTP Strict Transport Security etc. are headers; a slow TLS handshake is bounded here.
    if (options.tls) (server as https.Server).setTimeout(60_000);
    return server;
  };

  const app = Fastify({
    loggerInstance: logger,
    // Our own onResponse line replaces Fastify's request logs (which would include query strings).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: () => newRequestId(),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // While closing, our onRequest hook answers 503 problem+json (Fastify's own 503 is bare JSON).
    return503OnClosing: false,
    rewriteUrl: routableUrl,
    frameworkErrors: (_error, request, reply) => {
      reply.headers(rawAnswers.securityHeaders()).header('x-request-id', request.id);
      request.logContext = {};
      return sendProblem(request, reply, env, 'notFound', {
        detail: 'There is no resource at this address.',
      });
    },
    forceCloseConnections: 'idle',
    trustProxy: options.tls ? false : [...options.trustProxy],
    serverFactory,
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) =>
      rawAnswers.writeClientError(error, socket),
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 2048 },
  }) as unknown as FastifyInstance;

  app.decorateRequest('logContext', null as unknown as RequestLogContext);
  app.addHook('preClose', async () => {
    closing = true;
    for (const response of answering) if (!response.headersSent) response.setHeader('connection', 'close');
  });

  // Request ids and the precomputed security headers on every response; the FAPI interaction id echoed
  // when the client sends one. A callback hook, not an async one: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    request.logContext = {};
    reply.header('x-request-id', request.id);
    applySecurityHeaders(reply);
    const interaction = request.headers['x-fapi-interaction-id'];
    if (typeof interaction === 'string' && FAPI_INTERACTION_ID.test(interaction)) {
      reply.header('x-fapi-interaction-id', interaction);
    }
    if (closing) {
      sendProblem(request, reply, env, 'serviceUnavailable', {
        detail: 'The server is shutting down; retry on another instance.',
        headers: { 'retry-after': '1', connection: 'close' },
      });
      return; // answered: the chain stops without done()
    }
    // Answers to a request carrying credentials hold customer or credential data, or say something about
    // the credential: never cached (a handler may still choose otherwise).
    if (request.headers.authorization !== undefined) reply.header('cache-control', 'no-store');
    const raw = request.raw;
    if (!request.headers.host && raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1) {
      sendProblem(request, reply, env, 'badRequest', { detail: 'The Host header is missing.' });
      return;
    }
    // An over-long query string is 414. An over-long path segment is made unusable before routing
    // (edge-answers.ts), which answers 404: ids in paths are never 414 (DESIGN.md §4).
    const url = raw.url ?? '';
    const queryAt = url.indexOf('?');
    if (queryAt >= 0 && url.length - queryAt > MAX_URL_LENGTH) {
      sendProblem(request, reply, env, 'uriTooLong', {
        detail: `The query string exceeds ${MAX_URL_LENGTH} bytes.`,
      });
      return;
    }
    done();
  });

  // Validation from JSON Schema 2020-12; bodies are never coerced and unknown fields are rejected.
  const bodyAjv = createAjv({ coerce: false });
  const paramAjv = createAjv({ coerce: true });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : paramAjv).compile(schema as object),
  );
  app.setSchemaErrorFormatter((errors, dataVar) => {
    const part = httpPartOf(dataVar);
    const error = new Error('validation failed') as FastifyError & { issues: unknown };
    error.statusCode = 400;
    error.issues = toValidationIssues(part, errors as never);
    return error;
  });

  // A shadow router knows every path → methods, so a wrong method gets 405 with `Allow`, not 404.
  const shadow = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 2048 });
  const methodsByRoute = new Map<string, Set<string>>();
  const implemented = new Set<string>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) implemented.add(method);
    let set = methodsByRoute.get(route.url);
    if (!set) {
      set = new Set();
      methodsByRoute.set(route.url, set);
      shadow.on('GET', route.url, () => {}, { url: route.url });
    }
    for (const method of methods) set.add(method);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
    const match = shadow.find('GET', path);
    const allowed = match ? methodsByRoute.get((match.store as { url: string }).url) : undefined;
    const answer = unroutedAnswer(request.method, allowed, implemented);
    return sendProblem(request, reply, env, answer.type, {
      detail: answer.detail,
      headers: answer.allow ? { allow: answer.allow } : undefined,
    });
  });
  // Parser errors answer with the same security headers as the pipeline: learn them from a real answer
  // (once listening: inject() waits for ready, so it cannot run inside onReady).
  app.addHook('onListen', () => rawAnswers.learnHeaders(app, probeToken));

  app.setErrorHandler((error, request, reply) => {
    const problem = describeError(error, problems);
    if (problem.unexpected) {
      request.log.error(
        { err: error, requestId: request.id },
        isAppError(error) ? 'request failed' : 'unexpected error',
      );
    }
    if (problem.reason) request.logContext.refusal = problem.reason;
    return sendProblem(request, reply, env, problem.type, problem);
  });

  // One log line per request: method, route, path without query string, status, duration, ids.
  app.addHook('onResponse', (request, reply, done) => {
    if (request.headers[PROBE_HEADER] === probeToken) {
      done();
      return;
    }
    const url = request.raw.url ?? '';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        path: path && path.length > 512 ? `${path.slice(0, 512)}…` : path,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        ...request.logContext,
      },
      'request',
    );
    done();
  });

  return app;
}

export type { FastifyInstance, FastifyRequest };
