/**
 * The catalogue of problem types (RFC 9457). The key is the `type` name that appears at the end of the
 * problem's `type` URI (`<baseUrl>/errors/<name>`); DESIGN.md §1 fixes the generic names. Modules add
 * domain types (e.g. `invalidAccountId`) through `defineProblemTypes`.
 */
export interface ProblemTypeInfo {
  status: number;
  title: string;
}

const catalogue = new Map<string, ProblemTypeInfo>(
  Object.entries({
    badRequest: { status: 400, title: 'Bad request' },
    unauthorized: { status: 401, title: 'Unauthorized' },
    sessionExpired: { status: 401, title: 'Session expired' },
    forbidden: { status: 403, title: 'Forbidden' },
    notFound: { status: 404, title: 'Not found' },
    methodNotAllowed: { status: 405, title: 'Method not allowed' },
    notAcceptable: { status: 406, title: 'Not acceptable' },
    conflict: { status: 409, title: 'Conflict' },
    preconditionFailed: { status: 412, title: 'Precondition failed' },
    payloadTooLarge: { status: 413, title: 'Payload too large' },
    uriTooLong: { status: 414, title: 'URI too long' },
    unsupportedMediaType: { status: 415, title: 'Unsupported media type' },
    unprocessableEntity: { status: 422, title: 'Unprocessable entity' },
    preconditionRequired: { status: 428, title: 'Precondition required' },
    tooManyRequests: { status: 429, title: 'Too many requests' },
    headersTooLarge: { status: 431, title: 'Request header fields too large' },
    internalError: { status: 500, title: 'Internal error' },
    badGateway: { status: 502, title: 'Bad gateway' },
    serviceUnavailable: { status: 503, title: 'Service unavailable' },
    gatewayTimeout: { status: 504, title: 'Gateway timeout' },
  }),
);

/** Register domain problem types. Re-registering a name with a different status is a programming error. */
export function defineProblemTypes(types: Record<string, ProblemTypeInfo>): void {
  for (const [name, info] of Object.entries(types)) {
    const existing = catalogue.get(name);
    if (existing && existing.status !== info.status) {
      throw new Error(`problem type ${name} already defined with status ${existing.status}`);
    }
    catalogue.set(name, info);
  }
}

export function problemType(name: string): ProblemTypeInfo | undefined {
  return catalogue.get(name);
}

/** The generic type name for a bare HTTP status. */
export function typeNameForStatus(status: number): string {
  for (const [name, info] of catalogue) {
    if (info.status === status) return name;
  }
  return status >= 500 ? 'internalError' : 'badRequest';
}
