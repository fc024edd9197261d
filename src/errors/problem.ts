import { isoAt } from '../lib/clock.ts';
import type { ValidationIssue } from './app-error.ts';
import { problemType } from './problem-types.ts';

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
  typeName: string;
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

/** Build the problem body. Field order is fixed so identical refusals serialize identically. */
export function buildProblem(input: ProblemInput): ProblemDocument {
  const info = problemType(input.typeName) ?? { status: 500, title: 'Internal error' };
  const doc: ProblemDocument = {
    type: `${input.baseUrl}/errors/${input.typeName}`,
    title: info.title,
    status: info.status,
    detail: input.detail ?? info.title,
    instance: `urn:strongroom:request:${input.requestId}`,
    id: input.requestId,
    occurredAt: isoAt(input.at),
  };
  if (input.remediation) doc.remediation = input.remediation;
  if (input.errors) doc.errors = input.errors;
  return doc;
}
