import type { ValidateFunction } from '../../http/validation.ts';
import { type CompiledBody, isObject, type Json } from './compiled-api.ts';
import type { GatewayAjv, SchemaCompiler } from './openapi-schemas.ts';

const BODY_JSON = /^application\/(?:[a-z0-9.+-]+\+)?json$/;

/** What one operation needs to locate and compile its parameters and body. */
export interface OperationSource {
  /** `GET /accounts/{accountId}`, for messages. */
  where: string;
  /** The path item (its `parameters` apply to every operation under it). */
  item: Json;
  operation: Json;
  /** Parameter names of the path template, in order. */
  pathParams: readonly string[];
}

interface Tools {
  schemas: SchemaCompiler;
  ajv: GatewayAjv;
  fail: (problem: string) => never;
}

export interface CompiledParameters {
  validatePath: ValidateFunction | undefined;
  queryNames: string[];
  requiredQuery: string[];
  validateQuery: ValidateFunction;
  headerParams: { name: string; lower: string }[];
  validateHeaders: ValidateFunction | undefined;
}

/**
 * Parameters of one operation — path-item level, overridden by operation level (same name and location) —
 * compiled into one validator per location. Credential headers are declared by security schemes only, and
 * query parameters not in the document are refused (`additionalProperties: false`).
 */
export function compileParameters(source: OperationSource, tools: Tools): CompiledParameters {
  const { where, item, operation, pathParams } = source;
  const { schemas, ajv, fail } = tools;
  const parameters = new Map<string, Json>();
  for (const list of [item.parameters, operation.parameters]) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) fail(`${where}: "parameters" must be an array`);
    for (const [index, rawParameter] of (list as unknown[]).entries()) {
      const parameter = schemas.deref(rawParameter, `${where} parameters[${index}]`);
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
      if (!pathParams.includes(paramName)) fail(`${where}: path parameter "${paramName}" is not in the path`);
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
  return {
    validatePath: pathParams.length
      ? schemas.compile(ajv.params, { type: 'object', properties: pathProps }, `${where} path parameters`)
      : undefined,
    queryNames: Object.keys(queryProps),
    requiredQuery: queryRequired,
    validateQuery: schemas.compile(
      ajv.params,
      { type: 'object', properties: queryProps, required: queryRequired, additionalProperties: false },
      `${where} query parameters`,
    ),
    headerParams,
    validateHeaders: headerParams.length
      ? schemas.compile(
          ajv.params,
          { type: 'object', properties: headerProps, required: headerRequired },
          `${where} headers`,
        )
      : undefined,
  };
}

/**
 * The request body of one operation: a validator per JSON media type, binary media types passed through
 * as Buffers, and the size limit (`x-strongroom-maxBytes` on the operation or the request body).
 */
export function compileBody(source: OperationSource, tools: Tools): CompiledBody | undefined {
  const { where, operation } = source;
  const { schemas, ajv, fail } = tools;
  if (operation.requestBody === undefined) return undefined;
  const requestBody = schemas.deref(operation.requestBody, `${where} requestBody`);
  const content = requestBody.content;
  if (!isObject(content) || Object.keys(content).length === 0) fail(`${where}: requestBody needs "content"`);
  const mediaTypes = new Map<string, ValidateFunction | null>();
  for (const [mediaType, rawMedia] of Object.entries(content as Json)) {
    const type = mediaType.toLowerCase();
    const media = isObject(rawMedia) ? rawMedia : {};
    mediaTypes.set(
      type,
      BODY_JSON.test(type) ? schemas.compile(ajv.body, media.schema ?? {}, `${where} body (${type})`) : null,
    );
  }
  const maxBytes = operation['x-strongroom-maxBytes'] ?? requestBody['x-strongroom-maxBytes'];
  if (maxBytes !== undefined && (!Number.isInteger(maxBytes) || (maxBytes as number) <= 0)) {
    fail(`${where}: x-strongroom-maxBytes must be a positive integer`);
  }
  return { required: requestBody.required === true, mediaTypes, maxBytes: maxBytes as number | undefined };
}
