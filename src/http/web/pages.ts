import type { FastifyReply } from 'fastify';

/**
 * Send a server-rendered page of a browser surface. Pages are never cached (they carry form tokens and
 * secrets shown once), and they send `Referrer-Policy: same-origin` instead of the API's `no-referrer`:
 * with `no-referrer` browsers post our own forms with `Origin: null`, which the form rule refuses, while
 * `same-origin` still sends nothing to other sites (a client's redirect URI included).
 */
export function sendPage(
  reply: FastifyReply,
  status: number,
  page: string,
  options: { csp?: string; headers?: Record<string, string> } = {},
): FastifyReply {
  reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'same-origin')
    .type('text/html; charset=utf-8');
  if (options.csp) reply.header('content-security-policy', options.csp);
  if (options.headers) reply.headers(options.headers);
  return reply.send(page);
}
