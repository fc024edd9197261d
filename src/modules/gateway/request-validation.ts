import type { FastifyRequest } from 'fastify';
import { AppError, type ValidationIssue } from '../../errors/index.ts';
import { type HttpPart, toValidationIssues } from '../../http/validation.ts';
import { OPAQUE_ID_PATTERN } from '../../lib/ids.ts';
import type { CompiledOperation } from './compiled-api.ts';
import { NOT_FOUND_DETAIL } from './refusals.ts';

/** Credentials clients must never put in a URL; dropped from queries before validation (DESIGN.md §1). */
export const QUERY_CREDENTIAL_NAMES = new Set(['access_token', 'api_key', 'apikey', 'api-key', 'key']);

/** A request's input after validation against its operation. */
export interface ValidInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  contentType: string | undefined;
}

/** Row 8's answer: "does not exist" (also for ids that cannot exist); the reason goes to the log only. */
export const notFound = (reason: string) => new AppError('notFound', { detail: NOT_FOUND_DETAIL, reason });

const invalid = (part: HttpPart, errors: Parameters<typeof toValidationIssues>[1]) => {
  for (const error of errors ?? []) if (error.keyword === 'readOnly') error.message = 'is read-only';
  return new AppError('badRequest', {
    detail: 'The request is not valid.',
    errors: toValidationIssues(part, errors),
  });
};

/** Is `name` a credential smuggled into the query string (and not a parameter the operation declares)? */
export const isQueryCredential = (op: CompiledOperation, name: string) =>
  QUERY_CREDENTIAL_NAMES.has(name.toLowerCase()) && !op.queryNames.has(name);

/**
 * Validate path, query, headers and body against the operation (after the security pipeline and the rate
 * limit, DESIGN.md §1). Throws AppError: 404 for ids that cannot exist, 400 with `errors[]`, 413, 415.
 * `rawBody`: the body arrived as bytes (upstream mode) and JSON is parsed here only to validate it.
 */
export function validateRequest(
  request: FastifyRequest,
  op: CompiledOperation,
  rawBody: boolean,
): ValidInput {
  const params = (request.params ?? {}) as Record<string, string>;
  // Ids are opaque: anything else in an id position does not exist (404, never 400 or 414).
  for (const name of op.pathParams) {
    const value = params[name];
    if (value === undefined || !OPAQUE_ID_PATTERN.test(value)) throw notFound(`malformed ${name}`);
  }
  if (op.validatePath && !op.validatePath({ ...params })) throw notFound('path parameter schema');

  const query: Record<string, unknown> = { ...(request.query as Record<string, unknown>) };
  // Credentials in a URL are ignored (never accepted, never echoed).
  for (const name of Object.keys(query)) if (isQueryCredential(op, name)) delete query[name];
  if (op.validateQuery && !op.validateQuery(query)) throw invalid('query', op.validateQuery.errors);

  if (op.validateHeaders) validateHeaders(request, op);

  const contentTypeHeader = request.headers['content-type'];
  const contentType = contentTypeHeader?.split(';')[0]?.trim().toLowerCase() || undefined;
  let body = request.body;
  const hasBody = body !== undefined && !(Buffer.isBuffer(body) && body.length === 0 && !contentType);
  if (!op.body) {
    if (hasBody) {
      throw new AppError('unsupportedMediaType', { detail: 'This operation does not take a request body.' });
    }
    return { params, query, body: undefined, contentType: undefined };
  }
  if (!hasBody) {
    if (op.body.required) {
      const issues: ValidationIssue[] = [{ in: 'body', name: 'body', message: 'is required' }];
      throw new AppError('badRequest', { detail: 'The request needs a body.', errors: issues });
    }
    return { params, query, body: undefined, contentType: undefined };
  }
  const mediaType = contentType ? matchMediaType(op.body.mediaTypes, contentType) : undefined;
  if (mediaType === undefined) {
    throw new AppError('unsupportedMediaType', {
      detail: `Send the body as ${[...op.body.mediaTypes.keys()].join(' or ')}.`,
    });
  }
  const validator = op.body.mediaTypes.get(mediaType);
  if (validator) {
    if (rawBody && Buffer.isBuffer(body)) {
      try {
        body = JSON.parse(body.toString('utf8'));
      } catch {
        throw new AppError('badRequest', { detail: 'The body is not valid JSON.' });
      }
    }
    if (!validator(body)) throw invalid('body', validator.errors);
  } else if (op.body.maxBytes !== undefined && Buffer.isBuffer(body) && body.length > op.body.maxBytes) {
    throw new AppError('payloadTooLarge', { detail: 'The request body is too large.' });
  }
  return { params, query, body, contentType };
}

function validateHeaders(request: FastifyRequest, op: CompiledOperation): void {
  const validate = op.validateHeaders;
  if (!validate) return;
  const headers: Record<string, unknown> = {};
  for (const { lower } of op.headerParams) {
    const value = request.headers[lower];
    if (value !== undefined) headers[lower] = value;
  }
  if (validate(headers)) return;
  // Issues name the header as the document writes it, not lower-cased.
  const issues = toValidationIssues('header', validate.errors).map((issue) => ({
    ...issue,
    name: op.headerParams.find((h) => h.lower === issue.name)?.name ?? issue.name,
  }));
  throw new AppError('badRequest', { detail: 'The request is not valid.', errors: issues });
}

function matchMediaType(declared: Map<string, unknown>, contentType: string): string | undefined {
  if (declared.has(contentType)) return contentType;
  const major = contentType.split('/')[0];
  if (declared.has(`${major}/*`)) return `${major}/*`;
  if (declared.has('*/*')) return '*/*';
  return undefined;
}
