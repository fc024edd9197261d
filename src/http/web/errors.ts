import type { FastifyError, FastifyRequest } from 'fastify';
import { isAppError, type ValidationIssue } from '../../errors/index.ts';

/** What an error page of a browser surface shows. */
export interface WebError {
  status: number;
  title: string;
  /** Safe to show: our own words, never an internal message. */
  detail: string;
  headers?: Record<string, string>;
}

const TITLES: Record<number, string> = {
  403: 'Not allowed',
  404: 'Not found',
  429: 'Slow down',
};

const CLIENT_DETAILS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'The form is too large.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Send the form as application/x-www-form-urlencoded.',
};

const listIssues = (issues: readonly ValidationIssue[] | undefined) =>
  issues?.length ? ` (${issues.map((issue) => `${issue.name}: ${issue.message}`).join('; ')})` : '';

/**
 * Turn whatever a web route threw into an error page: our AppErrors with their detail and every form
 * error at once, Fastify's client errors (413, 415) in our words, anything else a 500 that names the
 * request id and is logged with it.
 */
export function describeWebError(error: unknown, request: FastifyRequest): WebError {
  if (isAppError(error)) {
    if (error.reason) request.logContext.refusal = error.reason;
    if (error.status >= 500) request.log.error({ err: error, requestId: request.id }, 'page request failed');
    return {
      status: error.status,
      title: titleFor(error.status),
      detail:
        error.status >= 500
          ? failureDetail(request)
          : `${error.detail ?? 'The request cannot be processed.'}${listIssues(error.errors)}`,
      headers: error.headers,
    };
  }
  const fastifyError = error as Partial<FastifyError> & { issues?: ValidationIssue[] };
  const status = fastifyError.statusCode ?? 500;
  if (fastifyError.issues || fastifyError.validation) {
    return {
      status: 400,
      title: titleFor(400),
      detail: `The form has errors${listIssues(fastifyError.issues) || '.'}`,
    };
  }
  if (status >= 400 && status < 500) {
    return {
      status,
      title: titleFor(status),
      detail: CLIENT_DETAILS[fastifyError.code ?? ''] ?? 'The request cannot be processed.',
    };
  }
  request.log.error({ err: error, requestId: request.id }, 'page request failed');
  return { status: 500, title: titleFor(500), detail: failureDetail(request) };
}

function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Error' : 'Cannot do that');
}

function failureDetail(request: FastifyRequest): string {
  return `Something went wrong. Quote ${request.id} when contacting support.`;
}
