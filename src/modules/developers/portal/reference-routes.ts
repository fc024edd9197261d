import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { apiReferencePage, apisPage } from '../../../web/portal/reference-pages.ts';
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
}

/** The API reference: every public API, its interactive reference and its OpenAPI document. */
export function registerReference(scope: FastifyInstance, portal: Portal): void {
  const { baseUrl, config } = portal.deps.context;
  const documentOf = (name: string) => {
    const doc = portal.documents().get(name);
    if (!doc) throw new AppError('notFound', { detail: 'There is no such API.' });
    return doc;
  };

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
    const { title } = documentOf(name).info;
    return portal.send(request, reply, 200, title, apiReferencePage({ name, title }), {
      stylesheets: [`${SWAGGER}/swagger-ui.css`],
      scripts: [`${SWAGGER}/swagger-ui-bundle.js`, '/static/portal-apidoc.js'],
    });
  });

  scope.get('/portal/apis/:name/openapi.json', async (request, reply) => {
    const name = idParam(request, 'name');
    return reply
      .header('cache-control', 'no-cache')
      .type('application/json')
      .send({
        ...documentOf(name),
        servers: [{ url: `${baseUrl}/${name}`, description: config.institutionName }],
      });
  });
}
