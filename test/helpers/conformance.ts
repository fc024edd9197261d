/**
 * Response conformance: every answer of an API operation must be one its OpenAPI document declares — the
 * status (or a `4XX`/`default` range), the content type, and a body valid against the response schema
 * (Ajv 2020, as OpenAPI 3.1 says). The documents are the ones the gateway enforces and publishes, so a
 * field a handler adds without documenting it, or a status nobody declared, fails the test that caused it.
 */
import assert from 'node:assert/strict';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import FindMyWay from 'find-my-way';
import type { App } from '../../src/app.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
type Method = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';

/** An answer to check: what `app.http.inject()` resolves to (the request is read from `raw.req`). */
export interface InjectedAnswer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  raw: { req: { method?: string; url?: string } };
}

interface Operation {
  api: string;
  where: string;
  responses: Json;
}

const JSON_MEDIA = /^application\/(?:[a-z0-9.+-]+\+)?json$/;
const SCHEMA_REF = '#/components/schemas/';

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Load every API the app's gateway serves (its published documents) and return `assertConforms`, which
 * fails with the operation, the status and each schema violation when an answer breaks its document.
 * Answers to paths outside every document (404 for an unknown path, CORS preflights) are not operations
 * and are not checked here.
 */
export function createConformance(app: App) {
  const gateway = app.services.gateway;
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  for (const keyword of ['example', 'discriminator', 'xml', 'externalDocs']) ajv.addKeyword(keyword);
  ajv.addVocabulary(['x-strongroom-entitlement', 'x-strongroom-maxBytes']);
  // OpenAPI: a writeOnly property is never sent back (passwords, secrets meant for the server only).
  ajv.removeKeyword('writeOnly');
  ajv.addKeyword({
    keyword: 'writeOnly',
    schemaType: 'boolean',
    validate: (writeOnly: boolean) => !writeOnly,
  });

  const router = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 2048 });
  const documents = new Map<string, Json>();
  const validators = new Map<string, ValidateFunction>();

  for (const api of gateway.apis()) {
    const document = gateway.publishedDocument(api.name) as Json | undefined;
    assert.ok(document, `the published document of ${api.name}`);
    documents.set(api.name, document);
    const components = isObject(document.components) ? document.components : {};
    ajv.addSchema({ $id: baseId(api.name), $defs: absolutize(api.name, components.schemas ?? {}) });
    const paths = document.paths as Record<string, Json>;
    for (const op of api.operations) {
      const operation = paths[op.path]?.[op.method.toLowerCase()];
      assert.ok(isObject(operation), `${api.name}: ${op.method} ${op.path} is in the published document`);
      const entry: Operation = {
        api: api.name,
        where: `${op.method} /${api.name}${op.path}`,
        responses: isObject(operation.responses) ? operation.responses : {},
      };
      router.on(op.method as Method, op.url, () => {}, entry);
    }
  }

  const deref = (api: string, value: unknown): Json => {
    let node = value;
    for (let depth = 0; isObject(node) && typeof node.$ref === 'string' && depth < 20; depth++) {
      const ref = node.$ref as string;
      node = ref
        .slice(2)
        .split('/')
        .reduce<unknown>(
          (at, token) => (isObject(at) ? at[token.replaceAll('~1', '/')] : undefined),
          documents.get(api),
        );
    }
    assert.ok(isObject(node), `${api}: a response reference does not resolve`);
    return node;
  };

  const validatorFor = (op: Operation, key: string, schema: unknown) => {
    const id = `${op.where} ${key}`;
    let validate = validators.get(id);
    if (!validate) {
      validate = ajv.compile(absolutize(op.api, schema) as object);
      validators.set(id, validate);
    }
    return validate;
  };

  return {
    /** Assert that `answer` is a response its operation's document declares (no-op outside operations). */
    assertConforms(answer: InjectedAnswer): void {
      const method = answer.raw.req.method ?? 'GET';
      const path = (answer.raw.req.url ?? '/').split('?')[0] ?? '/';
      const match = router.find(method as Method, path);
      if (!match) return;
      const op = match.store as Operation;
      const status = String(answer.statusCode);
      const key = [status, `${status[0]}XX`, 'default'].find((candidate) => candidate in op.responses);
      assert.ok(
        key,
        `${op.where} answered ${status}, which its document does not declare: ${answer.body.slice(0, 300)}`,
      );
      const response = deref(op.api, op.responses[key]);
      const content = isObject(response.content) ? response.content : undefined;
      const contentType = String(answer.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim()
        .toLowerCase();
      if (!content || Object.keys(content).length === 0) {
        assert.equal(answer.body, '', `${op.where} ${status} declares no content but answered a body`);
        return;
      }
      const mediaType = contentType
        ? [contentType, `${contentType.split('/')[0]}/*`, '*/*'].find((candidate) => candidate in content)
        : undefined;
      assert.ok(
        mediaType,
        `${op.where} ${status} answered ${contentType || 'no content type'}; the document declares ${Object.keys(content).join(', ')}`,
      );
      const schema = (content[mediaType] as Json | undefined)?.schema;
      if (schema === undefined || !JSON_MEDIA.test(contentType ?? '')) return;
      let body: unknown;
      try {
        body = JSON.parse(answer.body);
      } catch {
        assert.fail(`${op.where} ${status} answered ${contentType} that is not JSON`);
      }
      const validate = validatorFor(op, `${key} ${mediaType}`, schema);
      if (!validate(body)) {
        assert.fail(
          `${op.where} ${status} (${mediaType}) breaks its schema:\n${describe(validate.errors)}\n${answer.body.slice(0, 500)}`,
        );
      }
    },
  };
}

export type Conformance = ReturnType<typeof createConformance>;

function baseId(api: string): string {
  return `openapi://conformance/${api}`;
}

/** Point `#/components/schemas/…` references at the document's schemas registered under its URI. */
function absolutize(api: string, schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map((item) => absolutize(api, item));
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith(SCHEMA_REF)
        ? `${baseId(api)}#/$defs/${value.slice(SCHEMA_REF.length)}`
        : absolutize(api, value);
  }
  return out;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `  ${e.instancePath || '(body)'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`)
    .join('\n');
}
