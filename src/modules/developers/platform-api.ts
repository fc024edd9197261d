import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ApiCall, ApiModule, ApiResult, OpenApiDocument } from '../gateway/contract.ts';
import { actorFromPrincipal } from './access.ts';
import type { ApiKeys, ApiKeyView } from './api-keys-service.ts';
import type {
  ApplicationPatch,
  Applications,
  ApplicationView,
  CreateApplicationInput,
} from './applications-service.ts';
import type { UsageReports } from './usage-reports.ts';

const OPENAPI_DIR = path.join(import.meta.dirname, 'openapi');

function loadDocument(file: string): OpenApiDocument {
  return parseYaml(readFileSync(path.join(OPENAPI_DIR, file), 'utf8')) as OpenApiDocument;
}

type Body = Record<string, unknown>;
const bodyOf = (call: ApiCall): Body =>
  call.body && typeof call.body === 'object' ? (call.body as Body) : {};
const reasonOf = (call: ApiCall) =>
  typeof bodyOf(call).reason === 'string' ? (bodyOf(call).reason as string) : null;

function page<T>(
  call: ApiCall,
  items: T[],
  selfPath: string,
  extraQuery: Record<string, string | undefined> = {},
) {
  const start = Number(call.query.start ?? 0);
  const limit = Number(call.query.limit ?? 100);
  const hasNext = items.length > limit;
  const shown = items.slice(0, limit);
  const link = (s: number) => {
    const query = new URLSearchParams({ start: String(s), limit: String(limit) });
    for (const [k, v] of Object.entries(extraQuery)) if (v !== undefined) query.set(k, v);
    return { href: `${call.baseUrl}${selfPath}?${query}` };
  };
  return {
    items: shown,
    start,
    limit,
    count: shown.length,
    _links: {
      self: link(start),
      ...(hasNext ? { next: link(start + limit) } : {}),
      ...(start > 0 ? { prev: link(Math.max(0, start - limit)) } : {}),
    },
  };
}

/** The ETag of an application version; `If-Match` accepts it with or without the weak marker. */
const etagOf = (version: number) => `"v${version}"`;
function ifMatchVersion(call: ApiCall): number | undefined {
  const header = call.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"v(\d+)"$/.exec(header.trim());
  // An unparseable tag can never match the current version.
  return match ? Number(match[1]) : -1;
}

/**
 * The platform APIs (`clientApplications`, `apiKeys`; DESIGN.md §4) as gateway ApiModules. The gateway has
 * already checked the API key, the token and its scopes; these handlers apply the organization rule
 * (`access.ts`, shared with the portal): other organizations' resources are 404, member roles 403.
 */
export function createPlatformApis(deps: {
  applications: Applications;
  apiKeys: ApiKeys;
  usageReports: UsageReports;
}): ApiModule[] {
  const { applications, apiKeys, usageReports } = deps;

  const appLink = (call: ApiCall, id: string) =>
    `${call.baseUrl}/clientApplications/clientApplications/${id}`;
  const keyLink = (call: ApiCall, id: string) => `${call.baseUrl}/apiKeys/apiKeys/${id}`;

  const appResource = (call: ApiCall, view: ApplicationView) => ({
    ...view,
    _links: {
      self: { href: appLink(call, view.id) },
      apiKeys: { href: `${call.baseUrl}/apiKeys/apiKeys?clientApplication=${view.id}` },
    },
  });
  const keyResource = (call: ApiCall, view: ApiKeyView) => ({
    ...view,
    _links: {
      self: { href: keyLink(call, view.id) },
      clientApplication: { href: appLink(call, view.clientApplicationId) },
    },
  });
  const actor = (call: ApiCall) => actorFromPrincipal(call.principal, call.requestId);

  const clientApplications: ApiModule = {
    name: 'clientApplications',
    document: loadDocument('clientApplications.yaml'),
    handlers: {
      async listClientApplications(call): Promise<ApiResult> {
        const start = Number(call.query.start ?? 0);
        const limit = Number(call.query.limit ?? 100);
        const organizationId = call.query.organization as string | undefined;
        const apps = await applications.list({ organizationId, start, limit: limit + 1 }, actor(call));
        const views = await Promise.all(
          apps.map(async (app) => appResource(call, await applications.view(app))),
        );
        return {
          status: 200,
          body: page(call, views, '/clientApplications/clientApplications', { organization: organizationId }),
        };
      },
      async createClientApplication(call): Promise<ApiResult> {
        const input = bodyOf(call) as unknown as CreateApplicationInput;
        const created = await applications.create(input, actor(call));
        const body = {
          ...appResource(call, created.application),
          ...(created.clientSecret ? { clientSecret: created.clientSecret } : {}),
          ...(created.apiKey
            ? {
                apiKey: {
                  id: created.apiKey.id,
                  key: created.apiKey.key,
                  label: created.apiKey.label,
                  prefix: created.apiKey.prefix,
                  last4: created.apiKey.last4,
                  state: created.apiKey.state,
                  createdAt: created.apiKey.createdAt,
                  expiresAt: created.apiKey.expiresAt,
                  _links: { self: { href: keyLink(call, created.apiKey.id) } },
                },
              }
            : {}),
        };
        return {
          status: 201,
          body,
          headers: { location: appLink(call, created.application.id), 'cache-control': 'no-store' },
        };
      },
      async getClientApplication(call): Promise<ApiResult> {
        const app = await applications.get(call.params.applicationId ?? '', actor(call));
        return {
          status: 200,
          body: appResource(call, await applications.view(app)),
          headers: { etag: etagOf(app.version) },
        };
      },
      async patchClientApplication(call): Promise<ApiResult> {
        const { application: app, requests } = await applications.change(
          call.params.applicationId ?? '',
          bodyOf(call) as ApplicationPatch,
          actor(call),
          { ifMatchVersion: ifMatchVersion(call) },
        );
        return {
          // 202: part of the change waits for the institution (the view's `pendingChanges`).
          status: requests.length > 0 ? 202 : 200,
          body: appResource(call, await applications.view(app)),
          headers: { etag: etagOf(app.version) },
        };
      },
      async deleteClientApplication(call): Promise<ApiResult> {
        await applications.setState(
          call.params.applicationId ?? '',
          'deleted',
          'deleted through the API',
          actor(call),
        );
        return { status: 204 };
      },
      async rotateClientSecret(call): Promise<ApiResult> {
        const overlap = bodyOf(call).overlapSeconds;
        const rotated = await applications.rotateSecret(
          call.params.applicationId ?? '',
          typeof overlap === 'number' ? overlap : 86_400,
          actor(call),
        );
        return { status: 201, body: rotated, headers: { 'cache-control': 'no-store' } };
      },
    },
  };

  const apiKeysApi: ApiModule = {
    name: 'apiKeys',
    document: loadDocument('apiKeys.yaml'),
    handlers: {
      async listApiKeys(call): Promise<ApiResult> {
        const start = Number(call.query.start ?? 0);
        const limit = Number(call.query.limit ?? 100);
        const clientApplicationId = call.query.clientApplication as string | undefined;
        const keys = await apiKeys.list({ clientApplicationId, start, limit: limit + 1 }, actor(call));
        return {
          status: 200,
          body: page(
            call,
            keys.map((k) => keyResource(call, k)),
            '/apiKeys/apiKeys',
            { clientApplication: clientApplicationId },
          ),
        };
      },
      async createApiKey(call): Promise<ApiResult> {
        const body = bodyOf(call);
        const created = await apiKeys.create(
          {
            clientApplicationId: String(body.clientApplicationId),
            label: body.label as string | undefined,
            expiresAt: body.expiresAt as string | undefined,
          },
          actor(call),
        );
        return {
          status: 201,
          body: { ...keyResource(call, created.view), key: created.key },
          headers: { location: keyLink(call, created.view.id), 'cache-control': 'no-store' },
        };
      },
      async getApiKey(call): Promise<ApiResult> {
        const view = await apiKeys.get(call.params.keyId ?? '', actor(call));
        return { status: 200, body: keyResource(call, view) };
      },
      async rotateApiKey(call): Promise<ApiResult> {
        const body = bodyOf(call);
        const rotated = await apiKeys.rotate(
          call.params.keyId ?? '',
          {
            overlapSeconds: body.overlapSeconds as number | undefined,
            label: body.label as string | undefined,
          },
          actor(call),
        );
        return {
          status: 201,
          body: {
            ...keyResource(call, rotated.view),
            key: rotated.key,
            previous: keyResource(call, rotated.previous),
          },
          headers: { location: keyLink(call, rotated.view.id), 'cache-control': 'no-store' },
        };
      },
      async deactivateApiKey(call): Promise<ApiResult> {
        const view = await apiKeys.revoke(call.params.keyId ?? '', reasonOf(call), actor(call));
        return { status: 200, body: keyResource(call, view) };
      },
      async activateApiKey(call): Promise<ApiResult> {
        const view = await apiKeys.activate(call.params.keyId ?? '', reasonOf(call), actor(call));
        return { status: 200, body: keyResource(call, view) };
      },
      async getApiKeyUsage(call): Promise<ApiResult> {
        const keyId = call.params.keyId ?? '';
        await apiKeys.get(keyId, actor(call));
        const report = await usageReports.report({
          keyIds: [keyId],
          granularity: call.query.granularity as string | undefined,
          since: call.query.since as string | undefined,
        });
        return { status: 200, body: { keyId, ...report } };
      },
    },
  };

  return [clientApplications, apiKeysApi];
}
