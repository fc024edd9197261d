/**
 * The gateway's contracts: what an API module gives the gateway (an OpenAPI document + handlers keyed by
 * operationId), what a handler receives, and the ports the gateway needs from other modules (key
 * verification, token authority, entitlements, usage recording). Other modules implement the ports;
 * the banking APIs depend only on this file, so a real bank can replace them with an upstream URL.
 */

// ---- API modules and handlers --------------------------------------------------------------------

/** An OpenAPI 3.1 document as a plain object (parsed YAML/JSON). */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  info: { title: string; version: string };
};

/** Everything a handler may know about the caller, after the gateway has verified it. */
export interface Principal {
  /** Token subject: a user id (`usr_…`), or the client id for client-credentials tokens. */
  subject: string;
  /** The user, when the token represents one. */
  userId: string | undefined;
  /** OAuth client id the token was issued to (equals the API key's application client id). */
  clientId: string;
  /** Granted scopes, with implied ones expanded (`banking/full` ⇒ every `banking/*`). */
  scopes: ReadonlySet<string>;
  grantId: string | undefined;
  tokenId: string;
  /** Token expiry, epoch seconds. */
  expiresAt: number;
}

/** The calling application, identified by its API key. */
export interface VerifiedKey {
  keyId: string;
  applicationId: string;
  /** OAuth client id of the application (tokens must have been issued to it: DESIGN.md §1 row 6). */
  clientId: string;
  organizationId: string;
  plan: RatePlan;
  /** Exact origins allowed for browser calls (CORS). */
  corsOrigins: readonly string[];
  /** API names the application is subscribed to; `'*'` for all. */
  apis: readonly string[] | '*';
  /** Exempt from abuse auto-suspension (load-test plan). */
  abuseExempt: boolean;
  /** The application's environment (DESIGN.md §5.4); absent means `production`. */
  environment?: 'production' | 'sandbox';
}

export interface RatePlan {
  id: string;
  name: string;
  /** Sustained requests per second. */
  perSecond: number;
  /** Burst capacity (requests in one second). */
  burst: number;
  /** Requests per day. */
  perDay: number;
}

/** The entitlement view a handler gets for the current subject. */
export interface EntitlementView {
  /** Does the subject hold `permission` on resource `type`/`id` (directly or institution-wide)? */
  has(type: string, id: string, permission: string): Promise<boolean>;
  /** Ids the subject holds `permission` on, or `'*'` for an institution-wide grant (for list endpoints). */
  ids(type: string, permission: string): Promise<'*' | ReadonlySet<string>>;
}

/** One API call as a handler sees it: validated input, verified identity. */
export interface ApiCall {
  api: string;
  operationId: string;
  /** Path parameters (validated against the document). */
  params: Record<string, string>;
  /** Query parameters (validated, coerced to the documented types). */
  query: Record<string, unknown>;
  /** Request headers, lower-cased names (credentials removed). */
  headers: Record<string, string | undefined>;
  /** Parsed and validated body (JSON), or a Buffer for binary media types. */
  body: unknown;
  /** Content type of the body, without parameters. */
  contentType: string | undefined;
  /** The verified user/client token, when the operation's security requirement includes one. */
  principal: Principal | undefined;
  /** The calling application. */
  key: VerifiedKey;
  entitlements: EntitlementView;
  requestId: string;
  /** Public base URL (for links), e.g. `https://localhost:8443`. */
  baseUrl: string;
  /** Domain clock reading (ms). */
  now: number;
}

export interface ApiResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Defaults to application/json for object bodies. */
  contentType?: string;
}

/** Handlers throw `AppError` for domain failures (rendered as problem+json). */
export type OperationHandler = (call: ApiCall) => Promise<ApiResult>;

/**
 * Maps the id found in a request to the id of the resource an entitlement is about, e.g. a transfer id
 * to its source account id. Returns undefined when it does not exist (answered like "not entitled").
 */
export type EntitlementResolver = (id: string) => Promise<string | undefined>;

/** An API served in-process. */
export interface ApiModule {
  /** Path prefix and name, e.g. `accounts` → `/accounts/…`. */
  name: string;
  document: OpenApiDocument;
  handlers: Record<string, OperationHandler>;
  resolvers?: Record<string, EntitlementResolver>;
}

// ---- the x-strongroom-entitlement extension ------------------------------------------------------
//
// On an operation, one check or a list of checks, all of which must pass, e.g.
//   x-strongroom-entitlement:
//     - { resource: account, in: path, name: accountId, permission: view }
//     - { resource: account, in: query, name: account, permission: view }
//     - { resource: account, in: path, name: transferId, resolver: transferSourceAccount, permission: view }
//     - { resource: account, in: body, name: /sourceAccount/id, permission: transferFrom,
//         notVisible: { status: 422, type: invalidAccountId }, notPermitted: { status: 403, type: cannotTransferFrom } }
// Path/query checks fail with 404 `notFound` (identical to "does not exist"). Body checks distinguish
// "the subject cannot even see it" (`notVisible`, checked with the `view` permission) from "sees it but
// may not do this" (`notPermitted`). A list operation declares `{ resource: account, list: true }` and
// filters with `call.entitlements.ids()`.

export interface EntitlementCheck {
  resource: string;
  in: 'path' | 'query' | 'body';
  /** Parameter name, or a JSON pointer into the body. */
  name: string;
  permission: string;
  resolver?: string;
  notVisible?: { status: number; type: string };
  notPermitted?: { status: number; type: string };
}

// ---- document-level extensions ------------------------------------------------------------------
//
// `x-strongroom-public-security` (document root): the security requirement of the generated
// `GET /<api>/` and `GET /<api>/apiDoc` operations; default `[{ apiKey: [] }]` (API key only). Admin APIs
// set e.g. `[{ apiKey: [], accessToken: [admin/full] }]`.
// `x-strongroom-maxBytes` (operation or requestBody): body size limit for uploads (default 1 MiB).

// ---- ports the gateway needs from other modules --------------------------------------------------

export type KeyRefusal =
  | 'malformed'
  | 'unknown'
  | 'revoked'
  | 'expired'
  | 'pending'
  | 'suspended'
  | 'applicationPending'
  | 'applicationSuspended';

export type KeyVerification = { ok: true; key: VerifiedKey } | { ok: false; reason: KeyRefusal };

/** Implemented by the developers module: served from an in-process cache, no DB round trip in steady state. */
export interface KeyVerifier {
  verify(presented: string): KeyVerification | Promise<KeyVerification>;
  /**
   * Optional: is `origin` (e.g. `https://app.example`) registered as a CORS origin by any active
   * application? CORS preflights carry no API key, so the gateway can only answer them from this; without
   * it the gateway falls back to origins it has seen on verified keys since it started.
   */
  isRegisteredOrigin?(origin: string): boolean | Promise<boolean>;
}

/** Implemented by the oauth module: what a resource server needs to verify access tokens. */
export interface TokenAuthority {
  /** `<public-url>/auth` */
  issuer: string;
  /** `<public-url>/` — the one audience of every API scope. */
  audience: string;
  /** Public signing keys (JWKS), current and still-published previous ones. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
  /** Called when signing keys change (rotation), so verifiers drop cached keys and tokens. */
  onKeysChanged(listener: () => void): () => void;
  /**
   * Synchronous denylist check (in-memory, fed by the store's denylist and the change feed): true when
   * the grant or token was revoked. Effective in every process within 1 second of the revocation.
   */
  isRevoked(token: { grantId: string | undefined; jti: string }): boolean;
  /**
   * The longest access-token lifetime configured (institution default or any client's override), in
   * seconds: a token whose `exp − iat` exceeds it was not issued by these rules (DESIGN.md §5.1).
   */
  longestAccessTokenSeconds(): number;
}

/**
 * Implemented by the identity module: a user's environment (DESIGN.md §5.4), fixed at creation, so the
 * answer may be cached; synchronous once cached. Undefined for an unknown user.
 */
export interface SubjectEnvironments {
  environmentOf(
    userId: string,
  ): 'production' | 'sandbox' | undefined | Promise<'production' | 'sandbox' | undefined>;
}

/** Implemented by the entitlements module. */
export interface EntitlementService {
  has(subject: string, type: string, id: string, permission: string): Promise<boolean>;
  ids(subject: string, type: string, permission: string): Promise<'*' | ReadonlySet<string>>;
}

/** One answer attributable to an API key, for metering and abuse detection. */
export interface UsageEvent {
  keyId: string;
  applicationId: string;
  api: string;
  operationId: string;
  status: number;
  /** Epoch ms. */
  at: number;
  /** The refusal reason when status is 401/403/404/429 (for abuse detection; never shown). */
  reason?: string;
  abuseExempt: boolean;
  /**
   * The verified access token, when the request carried a valid one — also when a later check refused it
   * (row 6 wrong client, row 7 scope). Abuse detection counts only such *authenticated* refusals, per
   * grant: refusals anyone can provoke with a public key and a bad token never count (DESIGN.md §5.1).
   */
  principal?: Principal;
}

/** Implemented by the developers module (metering + abuse detection). Must not block the hot path. */
export interface UsageRecorder {
  record(event: UsageEvent): void;
  /**
   * Answers of `keyId` (429s aside) metered for the UTC day starting at `dayStart` (RFC 3339), flushed
   * or not: the durable floor of its daily quota (DESIGN.md §5.2).
   */
  meteredToday?(keyId: string, dayStart: string): Promise<number>;
}
