import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_SCOPE_NAMES } from '../identity/index.ts';
import type { CompiledApi } from './compiled-api.ts';
import type { OpenApiDocument } from './contract.ts';
import { stateOf } from './request-state.ts';
import { validateRequest } from './request-validation.ts';

type MutableDocument = Record<string, unknown> & {
  components?: Record<string, unknown>;
  paths?: Record<string, unknown>;
};

const CONTENT_TYPES = {
  root: 'application/hal+json; charset=utf-8',
  apiDoc: 'application/openapi+json; charset=utf-8',
} as const;

/** DESIGN.md §1's problem body, for the answers of the generated operations. */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'instance', 'id', 'occurredAt'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 100, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string', pattern: '^urn:strongroom:request:[A-Za-z0-9_-]+$' },
    id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    occurredAt: { type: 'string', format: 'date-time' },
    remediation: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['in', 'name', 'message'],
        properties: { in: { type: 'string' }, name: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

const GENERATED_SCHEMAS = {
  root: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'title', 'apiVersion', '_links'],
    properties: {
      name: { type: 'string' },
      title: { type: 'string' },
      apiVersion: { type: 'string' },
      _links: {
        type: 'object',
        required: ['self', 'apiDoc'],
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['href'],
          properties: { href: { type: 'string', format: 'uri' }, title: { type: 'string' } },
        },
      },
    },
  },
  apiDoc: { type: 'object', required: ['openapi', 'info', 'paths'] },
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: PROBLEM_SCHEMA } },
});

/**
 * The two operations the gateway generates for every API (DESIGN.md §1 item 5): `GET /<api>/` (name,
 * version, HAL links to its collections) and `GET /<api>/apiDoc` (the enforced document with this
 * platform's server URL and security schemes filled in). Both are built once and served from memory.
 */
export function createPublishedDocuments(deps: { baseUrl: string; institutionName: string }) {
  const { baseUrl } = deps;

  /** The document as `GET /<api>/apiDoc` publishes it. */
  const publishedDocument = (api: CompiledApi): OpenApiDocument => {
    const doc = structuredClone(api.document) as MutableDocument;
    doc.servers = [{ url: `${baseUrl}/${api.name}`, description: deps.institutionName }];
    const components = (doc.components ?? {}) as Record<string, unknown>;
    doc.components = components;
    const schemes = (components.securitySchemes ?? {}) as Record<string, Record<string, unknown>>;
    components.securitySchemes = schemes;
    const scopes = Object.fromEntries(api.scopes.size ? api.scopes : API_SCOPE_NAMES.map((s) => [s, s]));
    const flows = {
      authorizationCode: {
        authorizationUrl: `${baseUrl}/auth/oauth2/authorize`,
        tokenUrl: `${baseUrl}/auth/oauth2/token`,
        refreshUrl: `${baseUrl}/auth/oauth2/token`,
        scopes,
      },
    };
    let hasKey = false;
    let hasToken = false;
    for (const [name, scheme] of Object.entries(schemes)) {
      if (scheme.type === 'apiKey') {
        hasKey = true;
        schemes[name] = { ...scheme, in: 'header', name: 'API-Key' };
      } else if (scheme.type === 'oauth2') {
        hasToken = true;
        schemes[name] = { ...scheme, flows };
      }
    }
    if (!hasKey) schemes.apiKey = { type: 'apiKey', in: 'header', name: 'API-Key' };
    if (!hasToken) schemes.accessToken = { type: 'oauth2', flows };
    const generated = (kind: 'root' | 'apiDoc', summary: string) => ({
      get: {
        operationId: `${api.name}.${kind}`,
        summary,
        security: api.publicSecurityRaw,
        responses: {
          '200': {
            description: 'OK',
            content: { [CONTENT_TYPES[kind].split(';')[0] as string]: { schema: GENERATED_SCHEMAS[kind] } },
          },
          '400': problemResponse('The request is not valid (these operations take no query parameters).'),
          '401': problemResponse('Missing or invalid credentials.'),
          '403': problemResponse('Credentials not allowed here.'),
          '429': problemResponse('Rate limit exceeded.'),
        },
      },
    });
    doc.paths = {
      '/': generated('root', 'API root: name, version and links'),
      '/apiDoc': generated('apiDoc', 'This OpenAPI document'),
      ...(doc.paths ?? {}),
    };
    return doc as OpenApiDocument;
  };

  const rootDocument = (api: CompiledApi) => {
    const links: Record<string, { href: string; title?: string }> = {
      self: { href: `${baseUrl}/${api.name}/` },
      apiDoc: { href: `${baseUrl}/${api.name}/apiDoc` },
    };
    for (const op of api.operations) {
      if (op.kind === 'root' || op.kind === 'apiDoc' || op.method !== 'GET') continue;
      const collection = op.path.split('/')[1];
      if (collection && !collection.includes('{') && op.path === `/${collection}` && !links[collection]) {
        links[collection] = { href: `${baseUrl}/${api.name}/${collection}` };
      }
    }
    return { name: api.name, title: api.title, apiVersion: api.version, _links: links };
  };

  return {
    publishedDocument,

    /** The route handler of a generated operation; the body is built on first use and kept. */
    handler(api: CompiledApi, kind: 'root' | 'apiDoc') {
      let body: string | undefined;
      return async (request: FastifyRequest, reply: FastifyReply) => {
        validateRequest(request, stateOf(request).op, false);
        body ??= JSON.stringify(kind === 'root' ? rootDocument(api) : publishedDocument(api));
        return reply.code(200).type(CONTENT_TYPES[kind]).send(body);
      };
    },
  };
}

export type PublishedDocuments = ReturnType<typeof createPublishedDocuments>;
