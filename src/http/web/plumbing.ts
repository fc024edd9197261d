import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ProblemCatalogue } from '../../errors/index.ts';
import { createAjv } from '../validation.ts';
import { refuseFormPost } from './csrf.ts';
import { describeWebError, type WebError } from './errors.ts';

/** Forms are small; anything larger is a 413 before it is read. */
const FORM_BODY_LIMIT = 64 * 1024;

const REFUSALS = {
  crossSite: 'This form was sent from another site. Go back to the page, reload it and try again.',
  token: 'The form has expired. Go back, reload the page and try again.',
} as const;

export interface WebPlumbingOptions {
  /** Our public origin (`new URL(publicUrl).origin`): the only `Origin` a form post may carry. */
  origin: string;
  /** The app's problem catalogue: error pages show the problem the API would answer. */
  problems: ProblemCatalogue;
  /** The token this request's form must carry (bound to its session or interaction); undefined: none. */
  expectedToken(request: FastifyRequest): Promise<string | undefined> | string | undefined;
  /** Render an error page of this surface. */
  renderError(request: FastifyRequest, reply: FastifyReply, error: WebError): Promise<unknown> | unknown;
}

/**
 * The plumbing every browser surface (`/auth` pages, `/portal`, `/demo/`) registers on its own scope, so
 * a security fix lands once and never reaches the APIs or oidc-provider (which reads raw bodies itself):
 * - cookies parsed by `@fastify/cookie` (sessions: `createSessions`);
 * - forms parsed by `@fastify/formbody` and nothing else (another content type is 415), at most 64 KiB,
 *   validated by the route's form schema (`postForm`) with string values coerced to the schema's types;
 * - every POST checked by the one form rule (`refuseFormPost`) before its form is validated: 403 when it
 *   comes from another site or lacks the token of its session or interaction;
 * - every error rendered as this surface's HTML error page (`describeWebError`).
 * Register the surface's own hooks after this call: its `onRequest` hooks run after the cookies are read.
 */
export async function registerWebPlumbing(
  scope: FastifyInstance,
  options: WebPlumbingOptions,
): Promise<void> {
  await scope.register(fastifyCookie);
  scope.removeAllContentTypeParsers();
  await scope.register(fastifyFormbody, { bodyLimit: FORM_BODY_LIMIT });

  const ajv = createAjv({ coerce: true });
  scope.setValidatorCompiler(({ schema }) => ajv.compile(schema as object));

  scope.addHook('preValidation', async (request) => {
    if (request.method !== 'POST') return;
    const refusal = refuseFormPost(request, {
      origin: options.origin,
      expected: await options.expectedToken(request),
    });
    if (refusal) throw new AppError('forbidden', { detail: REFUSALS[refusal], reason: `form.${refusal}` });
  });

  scope.setErrorHandler(async (error, request, reply) => {
    const described = describeWebError(error, request, options.problems);
    if (described.headers) reply.headers(described.headers);
    return options.renderError(request, reply, described);
  });
}
