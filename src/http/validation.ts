import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidationIssue } from '../errors/index.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * JSON Schema 2020-12 validators (OpenAPI 3.1). Unknown fields are reported, never removed
 * (`removeAdditional: false`); bodies are not coerced, query/path/header values are (they are strings
 * on the wire).
 */
export function createAjv(options: { coerce: boolean }): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: options.coerce ? 'array' : false,
    validateFormats: true,
  });
  addFormats(ajv);
  // OpenAPI keywords that are annotations for validation purposes.
  for (const keyword of ['example', 'discriminator', 'xml', 'externalDocs']) {
    if (!ajv.getKeyword(keyword)) ajv.addKeyword(keyword);
  }
  ajv.addVocabulary(['x-strongroom-entitlement', 'x-strongroom-maxBytes']);
  return ajv;
}

export type HttpPart = 'body' | 'query' | 'path' | 'header' | 'cookie';

/** Turn Ajv errors into DESIGN.md §1 `errors[]` entries. */
export function toValidationIssues(
  part: HttpPart,
  errors: ErrorObject[] | null | undefined,
): ValidationIssue[] {
  return (errors ?? []).slice(0, 20).map((error) => {
    let name = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties') {
      const extra = String((error.params as { additionalProperty?: string }).additionalProperty);
      name = name ? `${name}.${extra}` : extra;
      message = 'is not a recognised field';
    } else if (error.keyword === 'required') {
      const missing = String((error.params as { missingProperty?: string }).missingProperty);
      name = name ? `${name}.${missing}` : missing;
      message = 'is required';
    }
    return { in: part, name: name || part, message };
  });
}

export type { ValidateFunction };
