import type { Ajv2020 } from 'ajv/dist/2020.js';
import { createAjv, type ValidateFunction } from '../../http/validation.ts';
import { type Fail, isObject, type Json, pointerTokens } from './compiled-api.ts';

/** The two validators the gateway compiles documents into: bodies (never coerced) and parameters (coerced). */
export interface GatewayAjv {
  body: Ajv2020;
  params: Ajv2020;
}

/**
 * JSON Schema 2020-12 validators for the gateway. OpenAPI: a readOnly property belongs to responses; in a
 * request body it is a privileged field the client may not set (OWASP API3), so its presence is a
 * validation error rather than silently ignored.
 */
export function createGatewayAjv(): GatewayAjv {
  const body = createAjv({ coerce: false });
  body.removeKeyword('readOnly');
  body.addKeyword({ keyword: 'readOnly', schemaType: 'boolean', validate: (readOnly: boolean) => !readOnly });
  return { body, params: createAjv({ coerce: true }) };
}

const SCHEMA_REF = '#/components/schemas/';

/**
 * `$ref` resolution and schema compilation for one document. Schemas may `$ref` the document's component
 * schemas: they are registered once under this API's URI (as `$defs`, which Ajv resolves) and every
 * `#/components/schemas/…` reference is pointed at it.
 */
export function createSchemaCompiler(doc: Json, apiName: string, ajv: GatewayAjv, fail: Fail) {
  const baseId = `openapi://api/${apiName}`; // path, not host: URI hosts are case-folded

  /** Follows local `$ref`s to the object they name. */
  const deref = (value: unknown, where: string, depth = 0): Json => {
    if (depth > 20) fail(`${where}: $ref chain too deep`);
    if (!isObject(value)) return fail(`${where} must be an object`);
    const ref = value.$ref;
    if (typeof ref !== 'string') return value;
    if (!ref.startsWith('#/')) fail(`${where}: only local $ref ("#/…") is supported, got ${ref}`);
    const target = pointerTokens(ref.slice(1)).reduce<unknown>(
      (node, token) => (isObject(node) ? node[token] : undefined),
      doc,
    );
    if (target === undefined) fail(`${where}: $ref ${ref} does not resolve`);
    return deref(target, where, depth + 1);
  };

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

  const components = isObject(doc.components) ? doc.components : {};
  const defs = absolutize(isObject(components.schemas) ? components.schemas : {}, 'components.schemas');
  for (const instance of [ajv.body, ajv.params]) {
    if (instance.getSchema(baseId)) instance.removeSchema(baseId);
    try {
      instance.addSchema({ $id: baseId, $defs: defs }, baseId);
    } catch (error) {
      fail(`components.schemas: invalid schema (${(error as Error).message})`);
    }
  }

  /** Compiles a schema of this document (its `$ref`s resolved against the component schemas). */
  const compile = (instance: Ajv2020, schema: unknown, where: string): ValidateFunction => {
    try {
      return instance.compile(absolutize(schema, where) as object);
    } catch (error) {
      return fail(`${where}: invalid schema (${(error as Error).message})`);
    }
  };

  return { deref, compile };
}

export type SchemaCompiler = ReturnType<typeof createSchemaCompiler>;
