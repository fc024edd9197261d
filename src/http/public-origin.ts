import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long clients may cache the authorization server's metadata. */
const METADATA_CACHE_CONTROL = 'public, max-age=300';

/**
 * Make a request handed to a library that builds absolute URLs from the request (oidc-provider, through
 * Koa's `ctx.origin`) see the configured public URL instead of whatever the client sent
 * (DESIGN.md §5.1: metadata and every URL the server prints come from `--public-url`, never from `Host`
 * or `X-Forwarded-Host`, even behind a trusted proxy). The library must trust forwarded headers (Koa
 * `proxy = true`): they are all overwritten here, the client address with the one our own proxy rules
 * (`--trust-proxy`) derived.
 */
export function pinPublicOrigin(raw: IncomingMessage, publicUrl: string, clientIp: string): void {
  const url = new URL(publicUrl);
  raw.headers.host = url.host;
  raw.headers['x-forwarded-host'] = url.host;
  raw.headers['x-forwarded-proto'] = url.protocol.slice(0, -1);
  raw.headers['x-forwarded-for'] = clientIp;
  delete raw.headers.forwarded;
}

/** Discovery metadata may be cached (it changes only with the configuration). */
export function setMetadataCaching(path: string, response: ServerResponse): void {
  if (path.split('?')[0] === '/.well-known/openid-configuration') {
    response.setHeader('cache-control', METADATA_CACHE_CONTROL);
  }
}
