/** One validation failure of a 400 answer (DESIGN.md §1). */
export interface ProblemError {
  in: string;
  name: string;
  message: string;
}

/** An RFC 9457 problem body as Strongroom sends it (`application/problem+json`). */
export interface ProblemDetails {
  type: string;
  title?: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Correlation id: also in the server's logs and audit log. */
  id?: string;
  occurredAt?: string;
  remediation?: string;
  errors?: ProblemError[];
  [extension: string]: unknown;
}

/**
 * An API answered with an error. Carries the RFC 9457 fields, the correlation id to quote to the
 * institution's support (the problem's `id`, or the `X-Request-Id` header), and the response headers
 * (`Retry-After`, `WWW-Authenticate`, rate-limit headers).
 */
export class StrongroomProblem extends Error {
  /** The problem type URI, e.g. `https://bank.example/errors/sessionExpired`. */
  readonly type: string;
  /** The type's last path segment, e.g. `sessionExpired`, `notFound`, `tooManyRequests`. */
  readonly typeName: string;
  readonly title: string | undefined;
  readonly status: number;
  readonly detail: string | undefined;
  readonly instance: string | undefined;
  readonly occurredAt: string | undefined;
  readonly remediation: string | undefined;
  /** Validation failures (400). */
  readonly errors: readonly ProblemError[];
  readonly correlationId: string | undefined;
  /** The whole problem body, extension members included. */
  readonly problem: ProblemDetails;
  readonly headers: Headers;

  constructor(problem: ProblemDetails, headers: Headers = new Headers()) {
    super(`${problem.status} ${problem.title ?? 'Error'}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'StrongroomProblem';
    this.problem = problem;
    this.type = problem.type;
    this.typeName = problem.type.split('/').pop() ?? problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.instance = problem.instance;
    this.occurredAt = problem.occurredAt;
    this.remediation = problem.remediation;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.correlationId = problem.id ?? headers.get('x-request-id') ?? undefined;
    this.headers = headers;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The problem an error response carries. A body that is not problem+json (a proxy's error page, an
 * OAuth error) still becomes a StrongroomProblem, typed `about:blank` as RFC 9457 §4.2 says.
 */
export async function problemFromResponse(response: Response): Promise<StrongroomProblem> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (isRecord(body) && typeof body.type === 'string') {
    return new StrongroomProblem(
      { ...body, type: body.type, status: typeof body.status === 'number' ? body.status : response.status },
      response.headers,
    );
  }
  const oauthError = isRecord(body) && typeof body.error === 'string' ? body : undefined;
  return new StrongroomProblem(
    {
      type: 'about:blank',
      title: response.statusText || `HTTP ${response.status}`,
      status: response.status,
      ...(oauthError
        ? {
            detail: String(oauthError.error_description ?? oauthError.error),
            error: oauthError.error,
          }
        : {}),
    },
    response.headers,
  );
}
