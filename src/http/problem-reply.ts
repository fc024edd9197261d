import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ValidationIssue } from '../errors/index.ts';
import { buildProblem, PROBLEM_CONTENT_TYPE } from '../errors/index.ts';
import type { Clock } from '../lib/clock.ts';

export interface ProblemReplyOptions {
  detail?: string;
  remediation?: string;
  errors?: ValidationIssue[];
  headers?: Record<string, string>;
}

/**
 * Send an RFC 9457 problem. The one place (besides the raw-socket 431 writer) that renders problems;
 * the error handler and the gateway's hot path both use it.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  env: { baseUrl: string; clock: Clock },
  typeName: string,
  options: ProblemReplyOptions = {},
): FastifyReply {
  const body = buildProblem({
    typeName,
    detail: options.detail,
    remediation: options.remediation,
    errors: options.errors,
    requestId: request.id,
    at: env.clock.now(),
    baseUrl: env.baseUrl,
  });
  if (options.headers) reply.headers(options.headers);
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}
