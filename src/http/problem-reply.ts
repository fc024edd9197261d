import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  buildProblem,
  type FailedDependency,
  failedDependency,
  GENERIC_PROBLEM_TYPES,
  type GenericProblemTypeName,
  isAppError,
  PROBLEM_CONTENT_TYPE,
  type ProblemCatalogue,
  type ProblemTypeName,
  typeNameForStatus,
  type ValidationIssue,
} from '../errors/index.ts';
import type { Clock } from '../lib/clock.ts';
import { type HttpPart, toValidationIssues } from './validation.ts';

export interface ProblemReplyOptions {
  detail?: string;
  remediation?: string;
  errors?: ValidationIssue[];
  headers?: Record<string, string>;
}

/** What rendering a problem needs: the public base URL (type URIs), the clock and the app's catalogue. */
export interface ProblemEnv {
  baseUrl: string;
  clock: Clock;
  problems: ProblemCatalogue;
}

/**
 * Send an RFC 9457 problem. The one place (besides the raw-socket 431 writer) that renders problems;
 * the error handler and the gateway's hot path both use it.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  env: ProblemEnv,
  typeName: ProblemTypeName,
  options: ProblemReplyOptions = {},
): FastifyReply {
  const body = buildProblem(
    {
      typeName,
      detail: options.detail,
      remediation: options.remediation,
      errors: options.errors,
      requestId: request.id,
      at: env.clock.now(),
      baseUrl: env.baseUrl,
    },
    env.problems,
  );
  if (options.headers) reply.headers(options.headers);
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** Any error thrown while answering, as the problem it answers with (before rendering: JSON or HTML). */
export interface ErrorProblem extends ProblemReplyOptions {
  type: ProblemTypeName;
  status: number;
  title: string;
  detail: string;
  /** For the log only (never rendered). */
  reason?: string;
  /** Not an error we raised on purpose: log it with its stack, show nothing of it. */
  unexpected: boolean;
}

const UNEXPECTED_DETAIL = 'An unexpected error occurred. Quote the id when contacting support.';

/**
 * The one mapping from a thrown error to a problem: an AppError keeps its type, detail and headers;
 * Fastify's validation and client errors get our own wording (never parser internals); anything else is
 * a 500 that says nothing about its cause. The API error handler renders the result as problem+json; the
 * HTML pages (portal, sign-in) render the same fields as a page.
 */
export function describeError(error: unknown, problems: ProblemCatalogue): ErrorProblem {
  if (isAppError(error)) {
    const info = problems.get(error.type);
    if (info) {
      return {
        type: error.type,
        status: info.status,
        title: info.title,
        detail: error.detail ?? info.title,
        remediation: error.remediation,
        errors: error.errors,
        headers: error.headers,
        reason: error.reason,
        unexpected: info.status >= 500,
      };
    }
  }
  const dependency = failedDependency(error);
  if (dependency) return unavailable(dependency);
  const fastify = error as Partial<FastifyError> & { issues?: ValidationIssue[] };
  if (!isAppError(error) && (fastify.validation || fastify.issues)) {
    const errors =
      fastify.issues ??
      toValidationIssues(httpPartOf(fastify.validationContext), fastify.validation as never);
    return generic('badRequest', { detail: 'The request is not valid.', errors });
  }
  const status = isAppError(error) ? 500 : (fastify.statusCode ?? 500);
  if (status >= 400 && status < 500) {
    return generic(clientTypeFor(fastify), { detail: clientDetailFor(fastify) });
  }
  return { ...generic('internalError', { detail: UNEXPECTED_DETAIL }), unexpected: true };
}

/** DESIGN.md §5.2: a dependency that did not answer is 503 + Retry-After, never 500; logged by cause. */
function unavailable(dependency: FailedDependency): ErrorProblem {
  return {
    ...generic('serviceUnavailable', {
      detail: 'The request cannot be completed right now.',
      remediation: 'Retry after the seconds given in Retry-After.',
      headers: { 'retry-after': '1' },
    }),
    reason: `dependencyUnavailable:${dependency}`,
  };
}

function generic(type: GenericProblemTypeName, options: ProblemReplyOptions): ErrorProblem {
  const info = GENERIC_PROBLEM_TYPES[type];
  return {
    ...options,
    type,
    status: info.status,
    title: info.title,
    detail: options.detail ?? info.title,
    unexpected: false,
  };
}

/** Fastify's name of a request part (`querystring`, `params` …) as DESIGN.md §1 names it in `errors[].in`. */
export function httpPartOf(dataVar: string | undefined): HttpPart {
  switch (dataVar) {
    case 'querystring':
      return 'query';
    case 'params':
      return 'path';
    case 'headers':
      return 'header';
    default:
      return 'body';
  }
}

function clientTypeFor(error: Partial<FastifyError>): GenericProblemTypeName {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'payloadTooLarge';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return error.statusCode === 415 ? 'unsupportedMediaType' : 'badRequest';
    default:
      return typeNameForStatus(error.statusCode ?? 400);
  }
}

/** Messages we wrote ourselves for Fastify's client errors; never echo parser internals. */
function clientDetailFor(error: Partial<FastifyError>): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body is too large.';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'This content type is not supported here; send application/json.';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The JSON body is empty.';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'The body is not valid JSON.';
    default:
      return error.statusCode === 400 ? 'The request is malformed.' : 'The request cannot be processed.';
  }
}
