import type { ProblemCatalogue } from '../../errors/index.ts';
import {
  ApiDocumentError,
  type CompiledApi,
  type CompiledOperation,
  type CompileInput,
  isObject,
} from './compiled-api.ts';
import type { OpenApiDocument } from './contract.ts';
import { compileChecks } from './openapi-entitlements.ts';
import { compileBody, compileParameters } from './openapi-parameters.ts';
import { createSchemaCompiler, type GatewayAjv } from './openapi-schemas.ts';
import { compileSecuritySchemes } from './openapi-security.ts';

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

/**
 * Validate an OpenAPI 3.1 document and compile every operation: route, security alternatives, request
 * validators and entitlement checks. Problem types the document's entitlement answers declare join the
 * app's catalogue. Throws ApiDocumentError naming the document and the problem.
 */
export function compileApi(input: CompileInput, ajv: GatewayAjv, problems: ProblemCatalogue): CompiledApi {
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
    return fail('"info" needs a "title" and a "version" string');
  }
  const paths = doc.paths ?? {};
  if (!isObject(paths)) return fail('"paths" must be an object');
  const components = isObject(doc.components) ? doc.components : {};
  const schemas = createSchemaCompiler(doc, name, ajv, fail);
  const security = compileSecuritySchemes(components, schemas.deref, fail);
  const documentSecurity =
    doc.security === undefined ? undefined : security.compileSecurity(doc.security, 'document');
  const publicSecurityRaw = (doc['x-strongroom-public-security'] ?? security.apiKeyOnly()) as Record<
    string,
    string[]
  >[];
  const publicSecurity = security.compileSecurity(publicSecurityRaw, 'x-strongroom-public-security');

  const operations: CompiledOperation[] = [];
  const operationIds = new Set<string>();
  const routes = new Set<string>();
  for (const [path, rawItem] of Object.entries(paths)) {
    const { url, shape, pathParams } = compilePath(name, path, fail);
    const item = schemas.deref(rawItem, `paths.${path}`);
    for (const method of METHODS) {
      const rawOperation = item[method];
      if (rawOperation === undefined) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const operation = schemas.deref(rawOperation, where);
      const operationId = operation.operationId;
      if (typeof operationId !== 'string' || !operationId) return fail(`${where}: "operationId" is required`);
      if (operationIds.has(operationId)) fail(`${where}: operationId "${operationId}" is used twice`);
      operationIds.add(operationId);
      const routeKey = `${method} ${shape}`;
      if (routes.has(routeKey)) fail(`${where}: another path has the same shape`);
      routes.add(routeKey);

      const operationSource = { where, item, operation, pathParams };
      const parameters = compileParameters(operationSource, { schemas, ajv, fail });
      const body = compileBody(operationSource, { schemas, ajv, fail });
      const alternatives =
        operation.security === undefined
          ? (documentSecurity ?? fail(`${where}: no "security" (operation or document level)`))
          : security.compileSecurity(operation.security, where);
      const checks = compileChecks(operation['x-strongroom-entitlement'], {
        source,
        where,
        pathParams,
        queryNames: parameters.queryNames,
        hasBody: body !== undefined,
        resolvers: input.resolvers,
        upstream: input.upstream !== undefined,
        problems,
        fail,
      });
      if (checks.length > 0 && alternatives.some((alternative) => !alternative.token)) {
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
        security: alternatives,
        pathParams,
        validatePath: parameters.validatePath,
        queryNames: new Set(parameters.queryNames),
        requiredQuery: parameters.requiredQuery,
        validateQuery: parameters.validateQuery,
        headerParams: parameters.headerParams,
        validateHeaders: parameters.validateHeaders,
        body,
        checks,
        handler,
      });
    }
  }
  for (const operationId of Object.keys(input.handlers ?? {})) {
    if (!operationIds.has(operationId)) fail(`handler "${operationId}" has no operation in the document`);
  }

  // The generated operations: API root and apiDoc, with the public security, taking no parameters.
  const generated = (kind: 'root' | 'apiDoc', path: string): CompiledOperation => ({
    api: name,
    operationId: `${name}.${kind}`,
    method: 'GET',
    path,
    url: `/${name}${path}`,
    kind,
    security: publicSecurity,
    pathParams: [],
    validatePath: undefined,
    queryNames: new Set(),
    requiredQuery: [],
    validateQuery: schemas.compile(ajv.params, { type: 'object', additionalProperties: false }, kind),
    headerParams: [],
    validateHeaders: undefined,
    body: undefined,
    checks: [],
    handler: undefined,
  });
  operations.unshift(generated('root', '/'), generated('apiDoc', '/apiDoc'));

  return {
    name,
    title: info.title as string,
    version: info.version as string,
    source,
    document: doc as OpenApiDocument,
    operations,
    upstream: input.upstream,
    scopes: security.scopes,
    publicSecurity,
    publicSecurityRaw,
  };
}

/** `/accounts/{accountId}` of API `accounts` → route `/accounts/accounts/:accountId`. */
function compilePath(api: string, path: string, fail: (problem: string) => never) {
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
  return {
    url: `/${api}/${urlSegments.join('/')}`,
    /** Paths that differ only in parameter names are the same route. */
    shape: `/${api}/${segments.map((s) => (s.startsWith('{') ? '{}' : s)).join('/')}`,
    pathParams,
  };
}
