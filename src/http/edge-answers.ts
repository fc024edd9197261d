import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildProblem, type GenericProblemTypeName, PROBLEM_CONTENT_TYPE } from '../errors/index.ts';
import { newRequestId } from '../lib/ids.ts';
import type { Logger } from './logger.ts';
import type { ProblemEnv } from './problem-reply.ts';

/**
 * Answers at the edge of the pipeline (DESIGN.md §5.1 "Every byte the server sends passes one pipeline"):
 * requests the router cannot take as they are, requests Node's HTTP parser rejects before Fastify sees
 * them, and unrouted requests. Each gets problem+json with the same security headers as every other
 * answer, an `X-Request-Id`, a log line with that id, and nothing of the request echoed.
 */

/** Longest path segment the router is given; longer ones are never a valid id or name. */
export const MAX_SEGMENT_LENGTH = 2048;

/**
 * Stands in for a path segment the router cannot take (undecodable percent-encoding such as `%ff`, or
 * longer than {@link MAX_SEGMENT_LENGTH}). It decodes to `%`, which no id or route name contains: in an
 * id position the route still matches, so the request meets the API-key check (401 without a key) and
 * then answers 404 like any other unknown id (§4: never 400 or 414); elsewhere it is an unknown path.
 */
const UNUSABLE_SEGMENT = '%25';

/**
 * Fastify's `rewriteUrl`: replace path segments the router would refuse with its own raw answers
 * (FST_ERR_BAD_URL 400, FST_ERR_MAX_PARAM_LENGTH 414, both echoing the path). Hot path: a URL without
 * `%` and shorter than a segment limit is returned as is.
 */
export function routableUrl(request: IncomingMessage): string {
  const url = request.url ?? '/';
  if (url.length <= MAX_SEGMENT_LENGTH && !url.includes('%')) return url;
  const queryAt = url.indexOf('?');
  const path = queryAt >= 0 ? url.slice(0, queryAt) : url;
  let changed = false;
  const segments = path.split('/').map((segment) => {
    if (segment.length > MAX_SEGMENT_LENGTH || !decodes(segment)) {
      changed = true;
      return UNUSABLE_SEGMENT;
    }
    return segment;
  });
  return changed ? segments.join('/') + (queryAt >= 0 ? url.slice(queryAt) : '') : url;
}

function decodes(segment: string): boolean {
  if (!segment.includes('%')) return true;
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/**
 * What an unrouted request answers (§5.1): a path some route serves with this method (a missing file
 * under `/static/*`) is 404; a known path with another method 405 with `Allow`; an unknown path 404 for
 * a method the server implements, else 501. TRACE, TRACK and CONNECT are 405 everywhere (they are
 * refused on purpose, not unimplemented).
 */
export function unroutedAnswer(
  method: string,
  allowed: ReadonlySet<string> | undefined,
  implemented: ReadonlySet<string>,
): { type: GenericProblemTypeName; detail: string; allow?: string } {
  if (allowed?.has(method)) return { type: 'notFound', detail: 'There is no resource at this address.' };
  if (allowed && allowed.size > 0) {
    const allow = [...allowed].filter((m) => m !== 'HEAD').join(', ');
    return { type: 'methodNotAllowed', detail: `This method is not allowed here; use ${allow}.`, allow };
  }
  if (['TRACE', 'TRACK', 'CONNECT'].includes(method)) {
    return { type: 'methodNotAllowed', detail: 'This method is not supported.' };
  }
  if (!implemented.has(method)) return { type: 'notImplemented', detail: 'This method is not implemented.' };
  return { type: 'notFound', detail: 'There is no resource at this address.' };
}

/** Response headers that are not security headers (they differ per answer or are written by us). */
const PER_ANSWER_HEADERS = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-request-id',
  'allow',
  'cache-control',
  'etag',
]);

/** Header that marks the start-up probe, so its answer is not logged as a request. */
export const PROBE_HEADER = 'x-strongroom-header-probe';

/**
 * Answers written straight to the socket, for errors of Node's HTTP parser (`clientError`: headers over
 * 16 KiB, NUL in a header, an unknown method, a bad HTTP version, obs-fold, bare LF…), where no request
 * object exists. Their security headers are taken, once the app is ready, from a real answer of the
 * pipeline (an unrouted request), so they stay the same as every other answer's whatever sets them.
 */
export function createRawAnswers(env: ProblemEnv, logger: Logger) {
  let securityHeaders: [string, string][] = [];
  return {
    /** The pipeline's security headers (empty until learnHeaders ran). */
    securityHeaders: (): Record<string, string> => Object.fromEntries(securityHeaders),
    /** Read the pipeline's security headers from an injected request (call from `onReady`). */
    async learnHeaders(app: FastifyInstance, probeToken: string): Promise<void> {
      const answer = await app.inject({
        method: 'GET',
        url: '/.well-known/strongroom-header-probe',
        headers: { [PROBE_HEADER]: probeToken },
      });
      securityHeaders = Object.entries(answer.headers)
        .filter(([name, value]) => !PER_ANSWER_HEADERS.has(name.toLowerCase()) && value !== undefined)
        .map(([name, value]) => [name.toLowerCase(), String(value)]);
    },
    /** Node's `clientError`: answer 431 or 400 on the raw socket, with headers and a log line. */
    writeClientError(error: NodeJS.ErrnoException, socket: Socket): void {
      const overflow = error.code === 'HPE_HEADER_OVERFLOW';
      const requestId = newRequestId();
      logger.info(
        { requestId, status: overflow ? 431 : 400, parserError: error.code ?? 'unknown' },
        'request refused by the HTTP parser',
      );
      if (!socket.writable) return void socket.destroy();
      const body = JSON.stringify(
        buildProblem(
          {
            typeName: overflow ? 'headersTooLarge' : 'badRequest',
            detail: overflow ? 'The request headers exceed 16 KiB.' : 'The request is malformed.',
            requestId,
            at: env.clock.now(),
            baseUrl: env.baseUrl,
          },
          env.problems,
        ),
      );
      const status = overflow ? '431 Request Header Fields Too Large' : '400 Bad Request';
      const headers = [
        ...securityHeaders,
        ['x-request-id', requestId],
        ['content-type', PROBLEM_CONTENT_TYPE],
        ['content-length', String(Buffer.byteLength(body))],
        ['connection', 'close'],
      ];
      socket.end(`HTTP/1.1 ${status}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${body}`);
    },
  };
}

/**
 * oidc-provider (Koa) answers an unknown `/auth/…` path with a bare `text/plain` "Not Found": make it
 * our 404 problem. The request id is the one the pipeline already set on the response.
 */
export function providerNotFoundAsProblem(env: ProblemEnv) {
  return async (
    ctx: { status: number; body: unknown; type: string; res: { getHeader(name: string): unknown } },
    next: () => Promise<void>,
  ) => {
    await next();
    if (ctx.status !== 404 || (ctx.body !== undefined && ctx.body !== null)) return;
    const requestId = String(ctx.res.getHeader('x-request-id') ?? newRequestId());
    const problem = buildProblem(
      {
        typeName: 'notFound',
        detail: 'There is no resource at this address.',
        requestId,
        at: env.clock.now(),
        baseUrl: env.baseUrl,
      },
      env.problems,
    );
    ctx.body = JSON.stringify(problem);
    ctx.type = PROBLEM_CONTENT_TYPE;
    ctx.status = 404;
  };
}
