import type { KoaContextWithOIDC } from 'oidc-provider';
import { failedDependency } from '../../errors/index.ts';

const FAILED = Symbol('strongroom.failedDependency');

type State = Record<symbol, unknown>;

/** From oidc-provider's `server_error` event: remember that this request's 500 was a dependency. */
export function noteDependencyFailure(ctx: KoaContextWithOIDC, error: unknown): void {
  if (failedDependency(error)) (ctx.state as State)[FAILED] = true;
}

/**
 * DESIGN.md §5.2 on the authorization server's endpoints and pages: a store or Redis that did not answer
 * is 503 + `Retry-After`, never oidc-provider's 500 `server_error` (the JSON error code stays
 * RFC 6749's; only the status and the description change). Also catches a failure outside the
 * provider's own error handler (our steps before its routes).
 */
export async function answerDependencyFailures(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
  try {
    await next();
  } catch (error) {
    if (!failedDependency(error)) throw error;
    (ctx.state as State)[FAILED] = true;
    ctx.status = 500;
    ctx.body = { error: 'server_error', error_description: 'temporarily unavailable' };
  }
  if (ctx.status !== 500 || !(ctx.state as State)[FAILED]) return;
  ctx.status = 503;
  ctx.set('retry-after', '1');
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body) && body.error)
    body.error_description = 'temporarily unavailable';
}
