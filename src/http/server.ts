import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import helmet from '@fastify/helmet';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import FindMyWay from 'find-my-way';
import {
  buildProblem,
  createProblemCatalogue,
  isAppError,
  PROBLEM_CONTENT_TYPE,
  type ProblemCatalogue,
} from '../errors/index.ts';
import type { Clock } from '../lib/clock.ts';
import { newRequestId } from '../lib/ids.ts';
import type { Logger } from './logger.ts';
import { describeError, httpPartOf, type ProblemEnv, sendProblem } from './problem-reply.ts';
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
    };
    const server = options.tls
      ? https.createServer(
          { ...common, key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' },
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
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: options.tls ? false : [...options.trustProxy],
    serverFactory,
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) =>
      writeClientError(error, socket, env),
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 2048 },
  }) as unknown as FastifyInstance;

  app.decorateRequest('logContext', null as unknown as RequestLogContext);
  app.addHook('preClose', async () => {
    closing = true;
    for (const response of answering) if (!response.headersSent) response.setHeader('connection', 'close');
  });

  // Request ids: ours on every response; the FAPI interaction id echoed when the client sends one.
  app.addHook('onRequest', async (request, reply) => {
    request.logContext = {};
    reply.header('x-request-id', request.id);
    const interaction = request.headers['x-fapi-interaction-id'];
    if (typeof interaction === 'string' && FAPI_INTERACTION_ID.test(interaction)) {
      reply.header('x-fapi-interaction-id', interaction);
    }
    // An over-long query string is 414. An over-long path is left to routing, which answers 404: ids in
    // paths are never 414 (DESIGN.md §4), so probing with long ids learns nothing.
    const url = request.raw.url ?? '';
    const queryAt = url.indexOf('?');
    if (queryAt >= 0 && url.length - queryAt > MAX_URL_LENGTH) {
      return sendProblem(request, reply, env, 'uriTooLong', {
        detail: `The query string exceeds ${MAX_URL_LENGTH} bytes.`,
      });
    }
  });

  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'none'"],
        'object-src': ["'none'"],
        'frame-ancestors': ["'none'"],
        'form-action': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'style-src': ["'self'"],
        'script-src': ["'self'"],
        'connect-src': ["'self'"],
      },
    },
    frameguard: { action: 'deny' },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
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
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
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
    if (allowed && allowed.size > 0) {
      const allow = [...allowed].filter((m) => m !== 'HEAD').join(', ');
      return sendProblem(request, reply, env, 'methodNotAllowed', {
        detail: `${request.method} is not allowed here; use ${allow}.`,
        headers: { allow },
      });
    }
    if (['TRACE', 'TRACK', 'CONNECT'].includes(request.method)) {
      return sendProblem(request, reply, env, 'methodNotAllowed', {
        detail: `${request.method} is not supported.`,
      });
    }
    return sendProblem(request, reply, env, 'notFound', { detail: 'There is no resource at this address.' });
  });

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

  // One log line per request: method, route, path without query string, status, duration, ids. Static
  // files and health probes that succeed are routine noise: they log at debug.
  app.addHook('onResponse', async (request, reply) => {
    const path = (request.raw.url ?? '').split('?')[0];
    const routine = reply.statusCode < 400 && /^\/(static|health)\//.test(path ?? '');
    request.log[routine ? 'debug' : 'info'](
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
  });

  return app;
}

/** 431 and other parser-level errors happen before Fastify sees a request: answer on the raw socket. */
function writeClientError(error: NodeJS.ErrnoException, socket: Socket, env: ProblemEnv) {
  if (!socket.writable) return socket.destroy();
  const overflow = error.code === 'HPE_HEADER_OVERFLOW';
  const typeName = overflow ? 'headersTooLarge' : 'badRequest';
  const body = JSON.stringify(
    buildProblem(
      {
        typeName,
        detail: overflow ? 'The request headers exceed 16 KiB.' : 'The request is malformed.',
        requestId: newRequestId(),
        at: env.clock.now(),
        baseUrl: env.baseUrl,
      },
      env.problems,
    ),
  );
  const status = overflow ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export type { FastifyInstance, FastifyRequest };
