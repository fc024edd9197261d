import { problemType, typeNameForStatus } from './problem-types.ts';

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
 * The one error type of the application. `type` is a problem type name from the catalogue; the single
 * Fastify error handler renders it as problem+json. Anything that is not an AppError renders as a
 * generic 500.
 */
export class AppError extends Error {
  readonly type: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly remediation: string | undefined;
  readonly errors: ValidationIssue[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly reason: string | undefined;

  constructor(type: string, options: AppErrorOptions = {}) {
    const info = problemType(type);
    if (!info) throw new Error(`unknown problem type ${type}`);
    super(options.detail ?? info.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.type = type;
    this.status = info.status;
    this.title = info.title;
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
  unprocessable: (type: string, detail: string) => new AppError(type, { detail }),
  fromStatus: (status: number, detail?: string) => new AppError(typeNameForStatus(status), { detail }),
} as const;
