/**
 * Problem types (RFC 9457). A type's name ends its `type` URI (`<baseUrl>/errors/<name>`); DESIGN.md §1 fixes
 * the generic names below. Modules declare their own domain types in a catalogue of their own and add the
 * names to `ProblemTypes` by module augmentation, so a misspelt name is a compile error:
 *
 * ```ts
 * export const BANKING_PROBLEM_TYPES = { invalidAccountId: { status: 422, … } } as const satisfies ProblemCatalogueEntries;
 * type BankingProblemTypes = typeof BANKING_PROBLEM_TYPES;
 * declare module '../errors/index.ts' {
 *   interface ProblemTypes extends BankingProblemTypes {}
 * }
 * ```
 *
 * At run time `createApp` assembles the app's catalogue from the modules' catalogues (problem-catalogue.ts);
 * nothing registers itself on import.
 */
export interface ProblemTypeInfo {
  readonly status: number;
  /** Short summary, the problem's `title`. */
  readonly title: string;
  /** What it means and what the caller can do, served at `/errors/<name>`. */
  readonly description: string;
}

/** A module's problem types: name → status, title and description. */
export type ProblemCatalogueEntries = Readonly<Record<string, ProblemTypeInfo>>;

/** The platform's generic problem types (DESIGN.md §1), one per HTTP status it answers with. */
export const GENERIC_PROBLEM_TYPES = {
  badRequest: {
    status: 400,
    title: 'Bad request',
    description:
      'The request is malformed or does not match the API document; `errors` lists each failing field.',
  },
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    description:
      'The API key or the access token is missing, unknown, expired or revoked. Send a valid API-Key header and, where the operation needs one, an access token in the Authorization header.',
  },
  sessionExpired: {
    status: 401,
    title: 'Session expired',
    description:
      'The access token has expired. Refresh it with the refresh token, or sign the user in again.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    description:
      'The credentials are valid but not allowed here: the key or its application is not active, the token was issued to another application, or it lacks a scope the operation requires.',
  },
  notFound: {
    status: 404,
    title: 'Not found',
    description:
      'The resource does not exist, or the caller is not entitled to it: the two answer identically, so that probing learns nothing.',
  },
  methodNotAllowed: {
    status: 405,
    title: 'Method not allowed',
    description: 'The path exists but not with this method; the Allow header lists the methods it accepts.',
  },
  notAcceptable: {
    status: 406,
    title: 'Not acceptable',
    description: 'None of the media types in the Accept header can be produced for this resource.',
  },
  conflict: {
    status: 409,
    title: 'Conflict',
    description: 'The request conflicts with the current state of the resource; read it again and retry.',
  },
  preconditionFailed: {
    status: 412,
    title: 'Precondition failed',
    description:
      'The If-Match header does not match the resource’s current ETag: it changed since it was read.',
  },
  payloadTooLarge: {
    status: 413,
    title: 'Payload too large',
    description:
      'The request body exceeds the limit of this operation (1 MiB for JSON unless documented otherwise).',
  },
  uriTooLong: {
    status: 414,
    title: 'URI too long',
    description: 'The query string exceeds 8 KiB.',
  },
  unsupportedMediaType: {
    status: 415,
    title: 'Unsupported media type',
    description: 'The body’s Content-Type is not one the operation accepts, or the operation takes no body.',
  },
  unprocessableEntity: {
    status: 422,
    title: 'Unprocessable entity',
    description:
      'The request is well-formed but refers to something that cannot be used, or breaks a business rule.',
  },
  preconditionRequired: {
    status: 428,
    title: 'Precondition required',
    description: 'This operation needs a precondition header (such as If-Match) and none was sent.',
  },
  tooManyRequests: {
    status: 429,
    title: 'Too many requests',
    description:
      'A rate limit is exhausted: the application’s plan, or too many failed attempts from one address. Wait for the seconds given in Retry-After.',
  },
  headersTooLarge: {
    status: 431,
    title: 'Request header fields too large',
    description: 'The request headers exceed 16 KiB.',
  },
  internalError: {
    status: 500,
    title: 'Internal error',
    description:
      'An unexpected error occurred. Quote the problem’s id when contacting support: it names the request in the logs.',
  },
  notImplemented: {
    status: 501,
    title: 'Not implemented',
    description: 'The server does not implement this HTTP method for any resource.',
  },
  badGateway: {
    status: 502,
    title: 'Bad gateway',
    description: 'The upstream service behind this API is not reachable or answered with something unusable.',
  },
  serviceUnavailable: {
    status: 503,
    title: 'Service unavailable',
    description:
      'The platform cannot decide the request right now (a dependency is unreachable). Retry after the seconds given in Retry-After.',
  },
  gatewayTimeout: {
    status: 504,
    title: 'Gateway timeout',
    description: 'The upstream service behind this API did not answer in time.',
  },
} as const satisfies ProblemCatalogueEntries;

type GenericProblemTypes = typeof GENERIC_PROBLEM_TYPES;

/** The names of the generic problem types. */
export type GenericProblemTypeName = keyof GenericProblemTypes;

/**
 * Every problem type name known at compile time: the generic ones, plus each module's, added by module
 * augmentation of this interface (see the top of this file).
 */
export interface ProblemTypes extends GenericProblemTypes {}

/** A problem type name: `new AppError(name)` and `sendProblem(…, name)` accept nothing else. */
export type ProblemTypeName = keyof ProblemTypes & string;

const GENERIC: ProblemCatalogueEntries = GENERIC_PROBLEM_TYPES;

/** The generic type of a status (e.g. 409 → `conflict`); unknown statuses map to badRequest/internalError. */
export function typeNameForStatus(status: number): GenericProblemTypeName {
  for (const [name, info] of Object.entries(GENERIC)) {
    if (info.status === status) return name as GenericProblemTypeName;
  }
  return status >= 500 ? 'internalError' : 'badRequest';
}

/** The status of a generic problem type; undefined for a module's own type. */
export function genericStatus(name: string): number | undefined {
  return Object.hasOwn(GENERIC, name) ? GENERIC[name]?.status : undefined;
}
