import type { ProblemTypeName } from '../../errors/index.ts';
import type { ValidateFunction } from '../../http/validation.ts';
import type {
  ApiModule,
  EntitlementCheck,
  EntitlementResolver,
  OpenApiDocument,
  OperationHandler,
} from './contract.ts';

/**
 * What the OpenAPI compiler produces and the rest of the gateway consumes: one compiled API per document,
 * one compiled operation per route, each carrying its security alternatives, request validators and
 * entitlement checks.
 */

/** One alternative of a security requirement: every listed scheme must pass. */
export interface SecurityAlternative {
  apiKey: boolean;
  token: boolean;
  /** Scopes the token must carry. */
  scopes: readonly string[];
  /** `scope="…"` value, space-separated. */
  scopeText: string;
}

export interface CompiledBody {
  required: boolean;
  /** Declared media types → validator (JSON) or null (binary, passed as a Buffer). */
  mediaTypes: Map<string, ValidateFunction | null>;
  maxBytes: number | undefined;
}

/** The problem an entitlement check answers with (DESIGN.md §1 row 8, or a document's own type). */
export interface CheckAnswer {
  status: number;
  type: ProblemTypeName;
}

export interface CompiledCheck extends EntitlementCheck {
  /** For body checks, the pointer split into tokens. */
  pointer: string[];
  notVisibleAnswer: CheckAnswer;
  notPermittedAnswer: CheckAnswer;
  resolve: EntitlementResolver | undefined;
}

export type OperationKind = 'handler' | 'upstream' | 'root' | 'apiDoc';

export interface CompiledOperation {
  api: string;
  operationId: string;
  /** Upper-case HTTP method. */
  method: string;
  /** The path as the document writes it, e.g. `/accounts/{accountId}`. */
  path: string;
  /** The Fastify route, e.g. `/accounts/accounts/:accountId`. */
  url: string;
  kind: OperationKind;
  /** Alternatives; empty = no credentials at all (`security: []`). */
  security: readonly SecurityAlternative[];
  pathParams: readonly string[];
  validatePath: ValidateFunction | undefined;
  queryNames: ReadonlySet<string>;
  requiredQuery: readonly string[];
  validateQuery: ValidateFunction | undefined;
  headerParams: readonly { name: string; lower: string }[];
  validateHeaders: ValidateFunction | undefined;
  body: CompiledBody | undefined;
  checks: readonly CompiledCheck[];
  handler: OperationHandler | undefined;
}

export interface CompiledApi {
  name: string;
  title: string;
  version: string;
  /** Where the document came from (for messages). */
  source: string;
  document: OpenApiDocument;
  operations: CompiledOperation[];
  upstream: string | undefined;
  /** Every scope the document's OAuth flows declare (for `*\/full` expansion and apiDoc). */
  scopes: Map<string, string>;
  /** Security of the generated `GET /<api>/` and `GET /<api>/apiDoc` operations. */
  publicSecurity: readonly SecurityAlternative[];
  publicSecurityRaw: Record<string, string[]>[];
}

/** One document to compile: an in-process API module, or an upstream API from the configuration. */
export interface CompileInput {
  name: string;
  source: string;
  document: unknown;
  handlers?: ApiModule['handlers'];
  resolvers?: ApiModule['resolvers'];
  upstream?: string;
}

/** Start-up failure naming the document and the problem. */
export class ApiDocumentError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'ApiDocumentError';
  }
}

/** Throws ApiDocumentError for the document being compiled. */
export type Fail = (problem: string) => never;

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Splits a JSON pointer (`/sourceAccount/id`, or `#/components/…` without the `#`) into its tokens. */
export const pointerTokens = (pointer: string): string[] =>
  pointer
    .split('/')
    .slice(1)
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
