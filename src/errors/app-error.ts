import { genericStatus, type ProblemTypeName, typeNameForStatus } from './problem-types.ts';

/** One failing field of a validation problem (DESIGN.md §1). */
export interface ValidationIssue {
  in: 'path' | 'query' | 'header' | 'body' | 'cookie';
  name: string;
  message: string;
}

export interface AppErrorOptions {
  /** Human-readable explanation specific to this occurrence; safe to show to the caller. */
  detail?: string;
  /** What the caller can do about it. */
  remediation?: string;
  errors?: ValidationIssue[];
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
  /** Why, for the log only (never rendered). */
  reason?: string;
  cause?: unknown;
}

/**
 * The one error type of the application. `type` is a problem type name (a typo does not compile); the
 * single Fastify error handler renders it as problem+json through the app's problem catalogue. Anything
 * that is not an AppError renders as a generic 500.
 */
export class AppError extends Error {
  readonly type: ProblemTypeName;
  /**
   * The HTTP status when `type` is a generic type (DESIGN.md §1: `badRequest` 400, `conflict` 409 …).
   * A module's own type (`invalidAccountId`) gets its status from the app's catalogue when it is rendered,
   * so it is undefined here: nothing registers types in a process-global map.
   */
  readonly status: number | undefined;
  readonly detail: string | undefined;
  readonly remediation: string | undefined;
  readonly errors: ValidationIssue[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly reason: string | undefined;

  constructor(type: ProblemTypeName, options: AppErrorOptions = {}) {
    super(options.detail ?? type, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.type = type;
    this.status = genericStatus(type);
    this.detail = options.detail;
    this.remediation = options.remediation;
    this.errors = options.errors;
    this.headers = options.headers;
    this.reason = options.reason;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Shorthand constructors for the common cases. */
export const problems = {
  badRequest: (detail: string, errors?: ValidationIssue[]) => new AppError('badRequest', { detail, errors }),
  notFound: (detail = 'The requested resource does not exist.') => new AppError('notFound', { detail }),
  forbidden: (detail: string, reason?: string) => new AppError('forbidden', { detail, reason }),
  conflict: (detail: string) => new AppError('conflict', { detail }),
  unprocessable: (type: ProblemTypeName, detail: string) => new AppError(type, { detail }),
  fromStatus: (status: number, detail?: string) => new AppError(typeNameForStatus(status), { detail }),
} as const;
