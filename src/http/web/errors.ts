import type { FastifyError, FastifyRequest } from 'fastify';
import type { ProblemCatalogue, ValidationIssue } from '../../errors/index.ts';
import { describeError } from '../problem-reply.ts';

/** What an error page of a browser surface shows: the problem the API would answer, as a page. */
export interface WebError {
  /** The problem type (its description is served at `/errors/<type>`). */
  type: string;
  status: number;
  /** The problem type's title, from the app's catalogue. */
  title: string;
  /** Safe to show: our own words, never an internal message. */
  detail: string;
  headers?: Record<string, string>;
}

/** Fastify's client errors that read differently on a form than on an API call. */
const FORM_DETAILS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Send the form as application/x-www-form-urlencoded.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The form is too large.',
};

const listIssues = (issues: readonly ValidationIssue[] | undefined) =>
  issues?.length ? ` (${issues.map((issue) => `${issue.name}: ${issue.message}`).join('; ')})` : '';

/**
 * Turn whatever a web route threw into its error page, through the same error → problem mapping and the
 * same catalogue as the API answers (`describeError`): our AppErrors with their detail and every form
 * error at once, Fastify's client errors (413, 415) in our words, anything else a 500 that names the
 * request id and is logged with it.
 */
export function describeWebError(
  error: unknown,
  request: FastifyRequest,
  problems: ProblemCatalogue,
): WebError {
  const problem = describeError(error, problems);
  if (problem.reason) request.logContext.refusal = problem.reason;
  const base = { type: problem.type, status: problem.status, title: problem.title };
  if (problem.unexpected) {
    request.log.error({ err: error, requestId: request.id }, 'page request failed');
    return { ...base, detail: `Something went wrong. Quote ${request.id} when contacting support.` };
  }
  const formDetail = FORM_DETAILS[(error as Partial<FastifyError>).code ?? ''];
  return {
    ...base,
    detail: formDetail ?? `${problem.detail}${listIssues(problem.errors)}`,
    headers: problem.headers,
  };
}
