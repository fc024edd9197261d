import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { AppError } from '../../errors/index.ts';

/** Request headers passed to upstreams besides the operation's declared header parameters. */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'accept-encoding',
  'accept-language',
  'content-type',
  'content-encoding',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'idempotency-key',
  'prefer',
  'user-agent',
  'x-fapi-interaction-id',
];

/** Response headers never passed back: hop-by-hop (RFC 9110 §7.6.1), cookies for our origin, ours. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'server',
  'x-powered-by',
  'x-request-id',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
  'strict-transport-security',
  'content-security-policy',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-expose-headers',
  'access-control-max-age',
]);

const BUFFERED_RESPONSE_BYTES = 64 * 1024;

export interface UpstreamRequest {
  method: string;
  /** Path after the API prefix, starting with `/`, query string included. */
  pathAndQuery: string;
  headers: IncomingHttpHeaders;
  /** Lower-case names of header parameters the operation declares (forwarded too). */
  declaredHeaders: readonly string[];
  /** Headers the gateway sets (identity assertion, request id, forwarding info). */
  extraHeaders: Record<string, string>;
  body: Buffer | undefined;
}

/**
 * A keep-alive connection pool to one upstream API. Only an allow-list of request headers is forwarded
 * (so a client can never forge an identity header the upstream might trust); the verified identity
 * travels in the gateway's own signed header, set last.
 */
export function createUpstreamProxy(upstreamUrl: string, options: { timeoutMs?: number } = {}) {
  const url = new URL(upstreamUrl);
  const basePath = url.pathname.replace(/\/+$/, '');
  const timeout = options.timeoutMs ?? 30_000;
  const pool = new Pool(url.origin, {
    connections: 256,
    keepAliveTimeout: 10_000,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    connectTimeout: 10_000,
  });

  return {
    origin: url.origin,
    async forward(request: UpstreamRequest) {
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      for (const name of request.declaredHeaders) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      Object.assign(headers, request.extraHeaders);
      headers.host = url.host;
      try {
        const response = await pool.request({
          method: request.method as 'GET',
          path: basePath + request.pathAndQuery,
          headers,
          body: request.body,
        });
        const responseHeaders: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) responseHeaders[name] = value;
        }
        // Small answers of known length go out in one write (one TLS record); the rest is streamed.
        const length = Number(response.headers['content-length']);
        if (Number.isInteger(length) && length <= BUFFERED_RESPONSE_BYTES) {
          const body = Buffer.from(await response.body.arrayBuffer());
          return { status: response.statusCode, headers: responseHeaders, body };
        }
        return { status: response.statusCode, headers: responseHeaders, body: response.body };
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (
          code === 'UND_ERR_HEADERS_TIMEOUT' ||
          code === 'UND_ERR_CONNECT_TIMEOUT' ||
          code === 'UND_ERR_BODY_TIMEOUT'
        ) {
          throw new AppError('gatewayTimeout', {
            detail: 'The upstream API did not answer in time.',
            reason: code,
            cause: error,
          });
        }
        throw new AppError('badGateway', {
          detail: 'The upstream API is not reachable.',
          reason: code || 'upstream',
          cause: error,
        });
      }
    },
    // Called after the shutdown grace: requests still waiting on the upstream are abandoned, not awaited.
    close: () => pool.destroy(),
  };
}

export type UpstreamProxy = ReturnType<typeof createUpstreamProxy>;
