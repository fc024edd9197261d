import type { CompiledApi } from './compiled-api.ts';

/** An API as `gateway.apis()` describes it (for `apis list`, the portal and tests). */
export interface RegisteredApi {
  name: string;
  title: string;
  version: string;
  source: string;
  upstream: string | undefined;
  operations: {
    operationId: string;
    method: string;
    path: string;
    url: string;
    security: { apiKey: boolean; token: boolean; scopes: string[] }[];
    checks: {
      resource: string;
      in: string;
      name: string;
      permission: string;
      resolver: string | undefined;
    }[];
    requiredQuery: string[];
  }[];
}

/** Every operation of a compiled API with its security and checks, as plain data. */
export function describeApi(api: CompiledApi): RegisteredApi {
  return {
    name: api.name,
    title: api.title,
    version: api.version,
    source: api.source,
    upstream: api.upstream,
    operations: api.operations.map((op) => ({
      operationId: op.operationId,
      method: op.method,
      path: op.path,
      url: op.url,
      security: op.security.map((a) => ({ apiKey: a.apiKey, token: a.token, scopes: [...a.scopes] })),
      checks: op.checks.map((c) => ({
        resource: c.resource,
        in: c.in,
        name: c.name,
        permission: c.permission,
        resolver: c.resolver,
      })),
      requiredQuery: [...op.requiredQuery],
    })),
  };
}
