import { stringify as toYaml } from 'yaml';
import type { OpenApiDocument } from '../../gateway/contract.ts';

/**
 * An API's OpenAPI document as the portal hands it out (the interactive reference, the YAML and JSON
 * downloads, the Postman collection): this platform's server URL, and the OAuth flow's endpoints as
 * absolute URLs, so a tool that loads the file from disk (Postman, an SDK generator) still finds them.
 */
export function portalDocument(
  doc: OpenApiDocument,
  input: { name: string; baseUrl: string; institutionName: string },
): OpenApiDocument {
  const out = structuredClone(doc) as OpenApiDocument & { components?: { securitySchemes?: Schemes } };
  out.servers = [{ url: `${input.baseUrl}/${input.name}`, description: input.institutionName }];
  const absolute = (url: unknown) =>
    typeof url === 'string' && url.startsWith('/') ? `${input.baseUrl}${url}` : url;
  for (const scheme of Object.values(out.components?.securitySchemes ?? {})) {
    for (const flow of Object.values(scheme.flows ?? {})) {
      flow.authorizationUrl = absolute(flow.authorizationUrl);
      flow.tokenUrl = absolute(flow.tokenUrl);
      flow.refreshUrl = absolute(flow.refreshUrl);
    }
  }
  return out;
}

type Schemes = Record<string, { type?: string; flows?: Record<string, Record<string, unknown>> }>;

/** The document as YAML (the format the APIs are written in). */
export function documentYaml(doc: OpenApiDocument): string {
  return toYaml(doc, { lineWidth: 0 });
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const POSTMAN_SCHEMA = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
}

/** A `$ref` within the document (`#/components/...`), followed once; anything else as it is. */
function resolve(doc: OpenApiDocument, value: unknown): Parameter | undefined {
  const ref = (value as { $ref?: unknown } | undefined)?.$ref;
  if (typeof ref !== 'string') return value as Parameter | undefined;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/'))
    node = (node as Record<string, unknown> | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  return node as Parameter | undefined;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { example?: unknown }> };
  security?: Record<string, string[]>[];
}

/**
 * A Postman collection (format v2.1) generated from an API document: one folder per tag, one request per
 * operation, with `{{baseUrl}}`, `{{apiKey}}` and `{{accessToken}}` as collection variables — never a real
 * credential. Operations that need a user's token send it as a Bearer token.
 */
export function postmanCollection(doc: OpenApiDocument, input: { name: string; baseUrl: string }) {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  const folders = new Map<string, unknown[]>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? input.name;
      const requests = folders.get(tag) ?? [];
      folders.set(tag, requests);
      // Parameters of the path item apply to each of its operations (OpenAPI 3.1 §4.8.9); $refs resolved.
      const parameters = [...((item.parameters as unknown as unknown[]) ?? []), ...(op.parameters ?? [])]
        .map((p) => resolve(doc, p))
        .filter((p): p is Parameter => typeof p?.name === 'string' && typeof p.in === 'string');
      requests.push(postmanRequest(method, path, { ...op, parameters }, doc));
    }
  }
  return {
    info: {
      name: doc.info.title,
      description: `Generated from ${input.baseUrl}/${input.name}/apiDoc (OpenAPI ${doc.openapi}).`,
      schema: POSTMAN_SCHEMA,
    },
    item: [...folders].map(([name, item]) => ({ name, item })),
    variable: [
      { key: 'baseUrl', value: `${input.baseUrl}/${input.name}` },
      { key: 'apiKey', value: '' },
      { key: 'accessToken', value: '' },
    ],
  };
}

function postmanRequest(method: string, path: string, op: Operation, doc: OpenApiDocument) {
  const security = op.security ?? ((doc as { security?: Operation['security'] }).security || []);
  const needsKey = security.some((alternative) => 'apiKey' in alternative);
  const needsToken = security.some((alternative) => 'accessToken' in alternative);
  const parameters = op.parameters ?? [];
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((segment) => segment.replace(/^\{(.+)\}$/, ':$1'));
  const query = parameters
    .filter((p) => p.in === 'query')
    .map((p) => ({ key: p.name, value: '', description: p.description ?? '', disabled: !p.required }));
  const header = [
    ...(needsKey ? [{ key: 'API-Key', value: '{{apiKey}}' }] : []),
    ...parameters
      .filter((p) => p.in === 'header' && p.name.toLowerCase() !== 'api-key')
      .map((p) => ({ key: p.name, value: '', description: p.description ?? '', disabled: !p.required })),
  ];
  const json = op.requestBody?.content?.['application/json'];
  const required = query.filter((q) => !q.disabled);
  const queryString = required.length ? `?${required.map((q) => `${q.key}=`).join('&')}` : '';
  return {
    name: op.summary ?? op.operationId ?? `${method.toUpperCase()} ${path}`,
    request: {
      method: method.toUpperCase(),
      description: op.description ?? '',
      header: json ? [...header, { key: 'Content-Type', value: 'application/json' }] : header,
      url: {
        raw: `{{baseUrl}}/${segments.join('/')}${queryString}`,
        host: ['{{baseUrl}}'],
        path: segments,
        ...(query.length ? { query } : {}),
        variable: parameters
          .filter((p) => p.in === 'path')
          .map((p) => ({ key: p.name, value: '', description: p.description ?? '' })),
      },
      ...(needsToken
        ? { auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] } }
        : { auth: { type: 'noauth' } }),
      ...(json
        ? {
            body: {
              mode: 'raw',
              raw: json.example === undefined ? '{}' : JSON.stringify(json.example, null, 2),
              options: { raw: { language: 'json' } },
            },
          }
        : {}),
    },
  };
}
