/**
 * The security headers every answer carries, computed once. They are the exact set `@fastify/helmet`
 * produced with our options (CSP without defaults, `frameguard: deny`, HSTS one year with subdomains,
 * `no-referrer`, same-origin CORP and COOP), which re-serialised its CSP and ran a dozen middlewares on
 * every request; this is one object copied onto the reply in the request-id hook. Pages that need a
 * different CSP (the `/auth` pages drop `form-action`) overwrite `content-security-policy` themselves.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
].join(';');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
});

const ENTRIES = Object.entries(SECURITY_HEADERS);

/** Anything with Fastify's `reply.header(name, value)`. */
interface HeaderTarget {
  header(name: string, value: string): unknown;
}

/** Put the security headers on a reply (names are already lower-case, values already valid). */
export function applySecurityHeaders(reply: HeaderTarget): void {
  for (const [name, value] of ENTRIES) reply.header(name, value);
}
