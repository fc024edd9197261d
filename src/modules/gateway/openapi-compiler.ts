import type { Ajv2020 } from 'ajv/dist/2020.js';
import { defineProblemTypes, problemType } from '../../errors/index.ts';
import type { ValidateFunction } from '../../http/validation.ts';
import type {
  ApiModule,
  EntitlementCheck,
  EntitlementResolver,
  OpenApiDocument,
  OperationHandler,
} from './contract.ts';

/** Path prefixes that belong to the platform and can never name an API (DESIGN.md §2). */
export const RESERVED_API_NAMES = new Set([
  'auth',
  'health',
  'demo',
  'portal',
  'console',
  'errors',
  '.well-known',
  'static',
]);

const API_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const PARAM_SEGMENT = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const BODY_JSON = /^application\/(?:[a-z0-9.+-]+\+)?json$/;
/** Credentials clients must never put in a URL; dropped from queries before validation (DESIGN.md §1). */
export const QUERY_CREDENTIAL_NAMES = new Set(['access_token', 'api_key', 'apikey', 'api-key', 'key']);

/** One alternative of a security requirement: every listed scheme must pass. */
export interface SecurityAlternative {
  apiKey: boolean;
  token: boolean;
  /** Scopes the token must carry. */
  scopes: readonly string[];
  /** `scope="…"` value, space-separated. */
  scopeText: string;
}

export interface CompiledParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
}

export interface CompiledBody {
  required: boolean;
  /** Declared media types → validator (JSON) or null (binary, passed as a Buffer). */
  mediaTypes: Map<string, ValidateFunction | null>;
  maxBytes: number | undefined;
}

export interface CompiledCheck extends EntitlementCheck {
  /** For body checks, the pointer split into tokens. */
  pointer: string[];
  notVisibleAnswer: { status: number; type: string };
  notPermittedAnswer: { status: number; type: string };
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

/** Start-up failure naming the document and the problem. */
export class ApiDocumentError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'ApiDocumentError';
  }
}

export interface CompileInput {
  name: string;
  source: string;
  document: unknown;
  handlers?: ApiModule['handlers'];
  resolvers?: ApiModule['resolvers'];
  upstream?: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validate an OpenAPI 3.1 document and compile every operation: route, security alternatives, request
 * validators and entitlement checks. Throws ApiDocumentError naming the document and the problem.
 */
export function compileApi(input: CompileInput, ajv: { body: Ajv2020; params: Ajv2020 }): CompiledApi {
  const { name, source } = input;
  const fail = (problem: string): never => {
    throw new ApiDocumentError(source, problem);
  };
  if (!API_NAME.test(name))
    fail(`the API name "${name}" must be a letter followed by letters, digits, _ or -`);
  if (RESERVED_API_NAMES.has(name)) fail(`"${name}" is a reserved path prefix and cannot name an API`);
  const doc = input.document;
  if (!isObject(doc)) return fail('the document is not an object');
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) {
    fail(`"openapi" must be a 3.1.x version, got ${JSON.stringify(doc.openapi)}`);
  }
  const info = doc.info;
  if (!isObject(info) || typeof info.title !== 'string' || typeof info.version !== 'string') {
    fail('"info" needs a "title" and a "version" string');
  }
  const paths = doc.paths ?? {};
  if (!isObject(paths)) return fail('"paths" must be an object');
  const components = isObject(doc.components) ? doc.components : {};

  const deref = (value: unknown, where: string, depth = 0): Json => {
    if (depth > 20) fail(`${where}: $ref chain too deep`);
    if (!isObject(value)) return fail(`${where} must be an object`);
    const ref = value.$ref;
    if (typeof ref !== 'string') return value;
    if (!ref.startsWith('#/')) fail(`${where}: only local $ref ("#/…") is supported, got ${ref}`);
    const target = ref
      .slice(2)
      .split('/')
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, token) => (isObject(node) ? node[token] : undefined), doc);
    if (target === undefined) fail(`${where}: $ref ${ref} does not resolve`);
    return deref(target, where, depth + 1);
  };

  // Schemas may $ref the document's component schemas: register them once under this API's URI (as
  // `$defs`, which Ajv resolves) and point every `#/components/schemas/…` reference at it.
  const baseId = `openapi://api/${name}`; // path, not host: URI hosts are case-folded
  const SCHEMA_REF = '#/components/schemas/';
  const absolutize = (schema: unknown, where: string): unknown => {
    if (Array.isArray(schema)) return schema.map((item) => absolutize(item, where));
    if (!isObject(schema)) return schema;
    const out: Json = {};
    for (const [key, value] of Object.entries(schema)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#')) {
        if (!value.startsWith(SCHEMA_REF))
          fail(`${where}: schema $ref ${value} must point into #/components/schemas`);
        out[key] = `${baseId}#/$defs/${value.slice(SCHEMA_REF.length)}`;
      } else out[key] = absolutize(value, where);
    }
    return out;
  };
  const componentSchemas = isObject(components.schemas) ? components.schemas : {};
  const defs = absolutize(componentSchemas, 'components.schemas');
  for (const instance of [ajv.body, ajv.params]) {
    if (instance.getSchema(baseId)) instance.removeSchema(baseId);
    try {
      instance.addSchema({ $id: baseId, $defs: defs }, baseId);
    } catch (error) {
      fail(`components.schemas: invalid schema (${(error as Error).message})`);
    }
  }
  const compile = (instance: Ajv2020, schema: unknown, where: string): ValidateFunction => {
    try {
      return instance.compile(absolutize(schema, where) as object);
    } catch (error) {
      return fail(`${where}: invalid schema (${(error as Error).message})`);
    }
  };

  // Security schemes: which names are the API key and which the access token.
  const schemes = new Map<string, 'apiKey' | 'token'>();
  const scopes = new Map<string, string>();
  const rawSchemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  for (const [schemeName, raw] of Object.entries(rawSchemes)) {
    const scheme = deref(raw, `components.securitySchemes.${schemeName}`);
    if (scheme.type === 'apiKey') {
      if (scheme.in !== 'header' || String(scheme.name).toLowerCase() !== 'api-key') {
        fail(`security scheme "${schemeName}": API keys are accepted only in the API-Key header`);
      }
      schemes.set(schemeName, 'apiKey');
    } else if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') {
      schemes.set(schemeName, 'token');
      const flows = isObject(scheme.flows) ? scheme.flows : {};
      for (const flow of Object.values(flows)) {
        if (isObject(flow) && isObject(flow.scopes)) {
          for (const [scope, description] of Object.entries(flow.scopes))
            scopes.set(scope, String(description));
        }
      }
    } else if (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') {
      schemes.set(schemeName, 'token');
    } else {
      fail(`security scheme "${schemeName}" of type ${JSON.stringify(scheme.type)} is not supported`);
    }
  }
  const compileSecurity = (raw: unknown, where: string): SecurityAlternative[] => {
    if (!Array.isArray(raw)) return fail(`${where}: "security" must be an array`);
    return raw.map((requirement, index) => {
      if (!isObject(requirement)) return fail(`${where}: security[${index}] must be an object`);
      const alternative = { apiKey: false, token: false, scopes: [] as string[], scopeText: '' };
      for (const [schemeName, list] of Object.entries(requirement)) {
        const kind = schemes.get(schemeName);
        if (!kind)
          fail(`${where}: security scheme "${schemeName}" is not declared in components.securitySchemes`);
        if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
          fail(`${where}: the scopes of "${schemeName}" must be an array of strings`);
        }
        if (kind === 'apiKey') alternative.apiKey = true;
        else {
          alternative.token = true;
          alternative.scopes.push(...(list as string[]));
        }
      }
      alternative.scopeText = alternative.scopes.join(' ');
      return alternative;
    });
  };
  const documentSecurity = doc.security === undefined ? undefined : compileSecurity(doc.security, 'document');
  const publicSecurityRaw = (doc['x-strongroom-public-security'] ?? [
    { ...firstApiKeyScheme(schemes) },
  ]) as Record<string, string[]>[];
  const publicSecurity = compileSecurity(publicSecurityRaw, 'x-strongroom-public-security');

  const operations: CompiledOperation[] = [];
  const operationIds = new Set<string>();
  const routes = new Set<string>();
  for (const [path, rawItem] of Object.entries(paths)) {
    if (!path.startsWith('/')) fail(`path "${path}" must start with "/"`);
    if (path === '/' || path === '/apiDoc')
      fail(`path "${path}" is generated by the gateway and cannot be declared`);
    const segments = path.split('/').slice(1);
    const pathParams: string[] = [];
    const urlSegments = segments.map((segment) => {
      if (segment.includes('{') || segment.includes('}')) {
        const match = PARAM_SEGMENT.exec(segment);
        if (!match?.[1]) return fail(`path "${path}": a parameter must be a whole segment, like /{id}`);
        pathParams.push(match[1]);
        return `:${match[1]}`;
      }
      if (!/^[A-Za-z0-9._~-]+$/.test(segment)) fail(`path "${path}": segment "${segment}" is not supported`);
      return segment;
    });
    const url = `/${name}/${urlSegments.join('/')}`;
    const shape = `/${name}/${segments.map((s) => (s.startsWith('{') ? '{}' : s)).join('/')}`;
    const item = deref(rawItem, `paths.${path}`);
    for (const method of METHODS) {
      const rawOperation = item[method];
      if (rawOperation === undefined) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const operation = deref(rawOperation, where);
      const operationId = operation.operationId;
      if (typeof operationId !== 'string' || !operationId) return fail(`${where}: "operationId" is required`);
      if (operationIds.has(operationId)) fail(`${where}: operationId "${operationId}" is used twice`);
      operationIds.add(operationId);
      const routeKey = `${method} ${shape}`;
      if (routes.has(routeKey)) fail(`${where}: another path has the same shape`);
      routes.add(routeKey);

      // Parameters: path-item level, overridden by operation level (same name and location).
      const parameters = new Map<string, Json>();
      for (const list of [item.parameters, operation.parameters]) {
        if (list === undefined) continue;
        if (!Array.isArray(list)) fail(`${where}: "parameters" must be an array`);
        for (const [index, rawParameter] of (list as unknown[]).entries()) {
          const parameter = deref(rawParameter, `${where} parameters[${index}]`);
          if (
            typeof parameter.name !== 'string' ||
            !['path', 'query', 'header', 'cookie'].includes(String(parameter.in))
          ) {
            fail(`${where}: parameters[${index}] needs a "name" and "in" (path, query, header)`);
          }
          if (parameter.in === 'cookie') fail(`${where}: cookie parameters are not supported`);
          parameters.set(`${parameter.in}:${parameter.name}`, parameter);
        }
      }
      const pathProps: Json = {};
      const queryProps: Json = {};
      const queryRequired: string[] = [];
      const headerProps: Json = {};
      const headerRequired: string[] = [];
      const headerParams: { name: string; lower: string }[] = [];
      for (const parameter of parameters.values()) {
        const paramName = parameter.name as string;
        const schema = parameter.schema ?? {};
        if (parameter.in === 'path') {
          if (!pathParams.includes(paramName))
            fail(`${where}: path parameter "${paramName}" is not in the path`);
          if (parameter.required !== true) fail(`${where}: path parameter "${paramName}" must be required`);
          pathProps[paramName] = schema;
        } else if (parameter.in === 'query') {
          queryProps[paramName] = schema;
          if (parameter.required === true) queryRequired.push(paramName);
        } else {
          const lower = paramName.toLowerCase();
          if (['api-key', 'authorization'].includes(lower)) {
            fail(`${where}: "${paramName}" is a credential header, declared by security schemes only`);
          }
          headerProps[lower] = schema;
          headerParams.push({ name: paramName, lower });
          if (parameter.required === true) headerRequired.push(lower);
        }
      }
      for (const param of pathParams) {
        if (!(param in pathProps)) pathProps[param] = { type: 'string' };
      }
      const validatePath = pathParams.length
        ? compile(ajv.params, { type: 'object', properties: pathProps }, `${where} path parameters`)
        : undefined;
      const validateQuery = compile(
        ajv.params,
        { type: 'object', properties: queryProps, required: queryRequired, additionalProperties: false },
        `${where} query parameters`,
      );
      const validateHeaders = headerParams.length
        ? compile(
            ajv.params,
            { type: 'object', properties: headerProps, required: headerRequired },
            `${where} headers`,
          )
        : undefined;

      let body: CompiledBody | undefined;
      const maxBytesRaw = operation['x-strongroom-maxBytes'];
      if (operation.requestBody !== undefined) {
        const requestBody = deref(operation.requestBody, `${where} requestBody`);
        const content = requestBody.content;
        if (!isObject(content) || Object.keys(content).length === 0)
          fail(`${where}: requestBody needs "content"`);
        const mediaTypes = new Map<string, ValidateFunction | null>();
        for (const [mediaType, rawMedia] of Object.entries(content as Json)) {
          const type = mediaType.toLowerCase();
          const media = isObject(rawMedia) ? rawMedia : {};
          mediaTypes.set(
            type,
            BODY_JSON.test(type) ? compile(ajv.body, media.schema ?? {}, `${where} body (${type})`) : null,
          );
        }
        const maxBytes = maxBytesRaw ?? requestBody['x-strongroom-maxBytes'];
        if (maxBytes !== undefined && (!Number.isInteger(maxBytes) || (maxBytes as number) <= 0)) {
          fail(`${where}: x-strongroom-maxBytes must be a positive integer`);
        }
        body = {
          required: requestBody.required === true,
          mediaTypes,
          maxBytes: maxBytes as number | undefined,
        };
      }

      const security =
        operation.security === undefined
          ? (documentSecurity ?? fail(`${where}: no "security" (operation or document level)`))
          : compileSecurity(operation.security, where);

      const checks = compileChecks(operation['x-strongroom-entitlement'], {
        where,
        pathParams,
        queryNames: Object.keys(queryProps),
        hasBody: body !== undefined,
        resolvers: input.resolvers,
        upstream: input.upstream !== undefined,
        fail,
      });
      if (checks.length > 0 && security.some((alternative) => !alternative.token)) {
        fail(`${where}: an entitlement check needs an access token in every security alternative`);
      }

      const handler = input.handlers?.[operationId];
      if (input.upstream === undefined && !handler)
        fail(`${where}: no handler for operationId "${operationId}"`);
      operations.push({
        api: name,
        operationId,
        method: method.toUpperCase(),
        path,
        url,
        kind: input.upstream === undefined ? 'handler' : 'upstream',
        security,
        pathParams,
        validatePath,
        queryNames: new Set(Object.keys(queryProps)),
        requiredQuery: queryRequired,
        validateQuery,
        headerParams,
        validateHeaders,
        body,
        checks,
        handler,
      });
    }
  }
  for (const operationId of Object.keys(input.handlers ?? {})) {
    if (!operationIds.has(operationId)) fail(`handler "${operationId}" has no operation in the document`);
  }

  const generated = (kind: 'root' | 'apiDoc', path: string): CompiledOperation => ({
    api: name,
    operationId: kind === 'root' ? `${name}.root` : `${name}.apiDoc`,
    method: 'GET',
    path,
    url: `/${name}${path}`,
    kind,
    security: publicSecurity,
    pathParams: [],
    validatePath: undefined,
    queryNames: new Set(),
    requiredQuery: [],
    validateQuery: compile(ajv.params, { type: 'object', additionalProperties: false }, `${kind}`),
    headerParams: [],
    validateHeaders: undefined,
    body: undefined,
    checks: [],
    handler: undefined,
  });
  operations.unshift(generated('root', '/'), generated('apiDoc', '/apiDoc'));

  return {
    name,
    title: (info as Json).title as string,
    version: (info as Json).version as string,
    source,
    document: doc as OpenApiDocument,
    operations,
    upstream: input.upstream,
    scopes,
    publicSecurity,
    publicSecurityRaw,
  };
}

function firstApiKeyScheme(schemes: Map<string, 'apiKey' | 'token'>): Record<string, string[]> {
  for (const [schemeName, kind] of schemes) if (kind === 'apiKey') return { [schemeName]: [] };
  return {};
}

function compileChecks(
  raw: unknown,
  ctx: {
    where: string;
    pathParams: string[];
    queryNames: string[];
    hasBody: boolean;
    resolvers: Record<string, EntitlementResolver> | undefined;
    upstream: boolean;
    fail: (problem: string) => never;
  },
): CompiledCheck[] {
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const checks: CompiledCheck[] = [];
  for (const [index, entry] of list.entries()) {
    const where = `${ctx.where} x-strongroom-entitlement[${index}]`;
    if (!isObject(entry)) ctx.fail(`${where} must be an object`);
    const check = entry as Json;
    if (typeof check.resource !== 'string' || typeof check.permission !== 'string') {
      ctx.fail(`${where} needs "resource" and "permission"`);
    }
    // A list operation filters its own results with call.entitlements.ids(); nothing to check up front.
    if (check.list === true) continue;
    const location = check.in;
    const name = check.name;
    if (typeof name !== 'string') return ctx.fail(`${where} needs "name"`);
    if (location === 'path' && !ctx.pathParams.includes(name))
      ctx.fail(`${where}: no path parameter "${name}"`);
    if (location === 'query' && !ctx.queryNames.includes(name))
      ctx.fail(`${where}: no query parameter "${name}"`);
    if (location === 'body' && (!ctx.hasBody || !name.startsWith('/'))) {
      ctx.fail(`${where}: body checks need a request body and a JSON pointer name such as /sourceAccount/id`);
    }
    if (location !== 'path' && location !== 'query' && location !== 'body') {
      ctx.fail(`${where}: "in" must be path, query or body`);
    }
    let resolve: EntitlementResolver | undefined;
    if (check.resolver !== undefined) {
      if (ctx.upstream) ctx.fail(`${where}: resolvers are available to in-process APIs only`);
      resolve = ctx.resolvers?.[String(check.resolver)];
      if (!resolve) ctx.fail(`${where}: no resolver "${String(check.resolver)}"`);
    }
    const answer = (value: unknown, fallback: { status: number; type: string }, what: string) => {
      if (value === undefined) return fallback;
      if (!isObject(value) || !Number.isInteger(value.status) || typeof value.type !== 'string') {
        return ctx.fail(`${where}: "${what}" needs an integer "status" and a problem "type"`);
      }
      const status = value.status as number;
      const type = value.type;
      const known = problemType(type);
      if (!known) defineProblemTypes({ [type]: { status, title: titleOf(type) } });
      else if (known.status !== status)
        ctx.fail(`${where}: problem type "${type}" has status ${known.status}`);
      return { status, type };
    };
    const bodyCheck = location === 'body';
    checks.push({
      resource: check.resource as string,
      in: location,
      name,
      permission: check.permission as string,
      resolver: check.resolver as string | undefined,
      pointer: bodyCheck
        ? name
            .slice(1)
            .split('/')
            .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
        : [],
      notVisibleAnswer: answer(
        check.notVisible,
        bodyCheck ? { status: 422, type: 'unprocessableEntity' } : { status: 404, type: 'notFound' },
        'notVisible',
      ),
      notPermittedAnswer: answer(
        check.notPermitted,
        bodyCheck ? { status: 403, type: 'forbidden' } : { status: 404, type: 'notFound' },
        'notPermitted',
      ),
      resolve,
    });
  }
  return checks;
}

/** `invalidAccountId` → `Invalid account id`. */
function titleOf(type: string): string {
  const words = type.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
