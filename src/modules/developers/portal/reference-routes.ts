import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { sendPage } from '../../../http/web/index.ts';
import { apiReferencePage, apisPage, oauth2RedirectPage } from '../../../web/portal/reference-pages.ts';
import type { OpenApiDocument } from '../../gateway/contract.ts';
import { documentYaml, portalDocument, postmanCollection } from './api-documents.ts';
import { OAUTH2_REDIRECT_PATH } from './oauth2-redirect.ts';
import { idParam, type Portal } from './portal-context.ts';

const SWAGGER = '/static/portal/swagger-ui';

/** Reads a static file of an npm package once (the API reference renderer). */
function packageFile(pkg: string, file: string): Buffer | undefined {
  try {
    const require = createRequire(import.meta.url);
    return readFileSync(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file));
  } catch {
    return undefined;
  }
}

/** The renderer of the API reference (Swagger UI), served from its package under /static. */
export function registerReferenceAssets(app: FastifyInstance): void {
  const asset =
    (body: Buffer | undefined, type: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
      body
        ? reply.header('cache-control', 'public, max-age=86400').type(type).send(body)
        : reply.callNotFound();
  app.get(
    `${SWAGGER}/swagger-ui-bundle.js`,
    asset(packageFile('swagger-ui-dist', 'swagger-ui-bundle.js'), 'text/javascript; charset=utf-8'),
  );
  app.get(
    `${SWAGGER}/swagger-ui.css`,
    asset(packageFile('swagger-ui-dist', 'swagger-ui.css'), 'text/css; charset=utf-8'),
  );
  app.get(
    `${SWAGGER}/oauth2-redirect.js`,
    asset(packageFile('swagger-ui-dist', 'oauth2-redirect.js'), 'text/javascript; charset=utf-8'),
  );
}

/** The API reference: every public API, its interactive reference and its documents to download. */
export function registerReference(scope: FastifyInstance, portal: Portal): void {
  const { baseUrl, config } = portal.deps.context;
  const documentOf = (name: string) => {
    const doc = portal.documents().get(name);
    if (!doc) throw new AppError('notFound', { detail: 'There is no such API.' });
    return portalDocument(doc, { name, baseUrl, institutionName: config.institutionName });
  };
  const download = (reply: FastifyReply, file: string) =>
    reply.header('cache-control', 'no-cache').header('content-disposition', `attachment; filename="${file}"`);

  scope.get('/portal/apis', async (request, reply) => {
    const apis = [...portal.documents()].map(([name, doc]) => ({
      name,
      title: doc.info.title,
      summary: String((doc.info as Record<string, unknown>).summary ?? ''),
    }));
    return portal.send(request, reply, 200, 'API reference', apisPage({ apis }));
  });

  scope.get('/portal/apis/:name', async (request, reply) => {
    const name = idParam(request, 'name');
    const doc = documentOf(name);
    const query = request.query as Record<string, string | undefined>;
    const apps = await tryItApplications(portal, request, doc);
    const chosen = apps.find((app) => app.id === query.app) ?? apps[0];
    const page = apiReferencePage({
      name,
      title: doc.info.title,
      redirectUrl: `${baseUrl}${OAUTH2_REDIRECT_PATH}`,
      apps,
      chosen,
    });
    return portal.send(request, reply, 200, doc.info.title, page, {
      stylesheets: [`${SWAGGER}/swagger-ui.css`],
      scripts: [`${SWAGGER}/swagger-ui-bundle.js`, '/static/portal-apidoc.js'],
    });
  });

  scope.get('/portal/apis/:name/openapi.json', async (request, reply) => {
    const name = idParam(request, 'name');
    return download(reply, `${name}.openapi.json`).type('application/json').send(documentOf(name));
  });

  scope.get('/portal/apis/:name/openapi.yaml', async (request, reply) => {
    const name = idParam(request, 'name');
    return download(reply, `${name}.openapi.yaml`)
      .type('application/yaml; charset=utf-8')
      .send(documentYaml(documentOf(name)));
  });

  scope.get('/portal/apis/:name/postman.json', async (request, reply) => {
    const name = idParam(request, 'name');
    return download(reply, `${name}.postman_collection.json`)
      .type('application/json')
      .send(postmanCollection(documentOf(name), { name, baseUrl }));
  });

  // Where the API reference's "Authorize" window lands: Swagger UI's own script hands the code back to
  // the reference page (its opener), which redeems it with PKCE. Registered on every sandbox app.
  scope.get(OAUTH2_REDIRECT_PATH, async (_request, reply) => sendPage(reply, 200, oauth2RedirectPage()));
}

/**
 * The signed-in developer's applications the reference can sign in with ("Authorize"): live apps that
 * use the authorization code flow, with their scopes that this API knows.
 */
async function tryItApplications(portal: Portal, request: FastifyRequest, doc: OpenApiDocument) {
  const session = await portal.sessions.load(request);
  if (!session) return [];
  const { actor } = await portal.user(request);
  const known = new Set(Object.keys(oauthScopesOf(doc)));
  return (await portal.deps.applications.list({}, actor))
    .filter((app) => app.kind !== 'service' && app.state === 'active')
    .map((app) => ({
      id: app.id,
      name: app.name,
      clientId: app.clientId,
      confidential: app.tokenEndpointAuthMethod !== 'none',
      scopes: app.scopes.filter((scope) => known.has(scope)),
      hasRedirect: app.redirectUris.some((uri) => uri.endsWith(OAUTH2_REDIRECT_PATH)),
    }));
}

function oauthScopesOf(doc: OpenApiDocument): Record<string, string> {
  const schemes = ((doc.components as Record<string, unknown> | undefined)?.securitySchemes ?? {}) as Record<
    string,
    { flows?: { authorizationCode?: { scopes?: Record<string, string> } } }
  >;
  return Object.assign({}, ...Object.values(schemes).map((s) => s.flows?.authorizationCode?.scopes ?? {}));
}
