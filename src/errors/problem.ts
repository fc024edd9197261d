import { isoAt } from '../lib/clock.ts';
import type { ValidationIssue } from './app-error.ts';
import type { ProblemCatalogue } from './problem-catalogue.ts';
import { GENERIC_PROBLEM_TYPES, type ProblemTypeName } from './problem-types.ts';

/** An RFC 9457 problem document as Strongroom renders it (DESIGN.md §1). */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  id: string;
  occurredAt: string;
  remediation?: string;
  errors?: ValidationIssue[];
}

export interface ProblemInput {
  typeName: ProblemTypeName;
  detail?: string;
  remediation?: string;
  errors?: ValidationIssue[];
  requestId: string;
  /** Clock reading in ms. */
  at: number;
  /** Public base URL, e.g. `https://localhost:8443`. */
  baseUrl: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * Build the problem body from the app's catalogue. Field order is fixed so identical refusals serialize
 * identically. A type the catalogue does not hold (a module's catalogue left out of `createApp`) renders as
 * `internalError`: a wiring mistake must not invent a status.
 */
export function buildProblem(input: ProblemInput, problems: ProblemCatalogue): ProblemDocument {
  const known = problems.get(input.typeName);
  const typeName = known ? input.typeName : 'internalError';
  const info = known ?? GENERIC_PROBLEM_TYPES.internalError;
  const doc: ProblemDocument = {
    type: `${input.baseUrl}/errors/${typeName}`,
    title: info.title,
    status: info.status,
    detail: known ? (input.detail ?? info.title) : info.title,
    instance: `urn:strongroom:request:${input.requestId}`,
    id: input.requestId,
    occurredAt: isoAt(input.at),
  };
  if (known && input.remediation) doc.remediation = input.remediation;
  if (known && input.errors) doc.errors = input.errors;
  return doc;
}
