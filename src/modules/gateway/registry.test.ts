import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  bankApi,
  createGatewayHarness,
  type GatewayHarness,
  verifiedKey,
} from '../../../test/gateway/gateway-harness.ts';
import { testDialects } from '../../../test/helpers/test-app.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { createProblemCatalogue } from '../../errors/index.ts';
import { createAjv } from '../../http/validation.ts';
import { ApiDocumentError } from './compiled-api.ts';
import { compileApi } from './openapi-compiler.ts';

// biome-ignore lint/suspicious/noExplicitAny: the tests break documents in arbitrary places.
type Doc = Record<string, any>;

const ajv = () => ({ body: createAjv({ coerce: false }), params: createAjv({ coerce: true }) });
const problems = () => createProblemCatalogue();

function withDocument(mutate: (doc: Doc) => void) {
  const api = bankApi();
  const doc = structuredClone(api.document) as Doc;
  mutate(doc);
  return {
    name: 'bank',
    source: 'bank.yaml',
    document: doc,
    handlers: api.handlers,
    resolvers: api.resolvers,
  };
}

describe('OpenAPI registry', () => {
  test('compiles every operation plus the generated root and apiDoc', () => {
    const api = compileApi(
      withDocument(() => {}),
      ajv(),
      problems(),
    );
    assert.deepEqual(api.operations.map((op) => `${op.method} ${op.url}`).slice(0, 4), [
      'GET /bank/',
      'GET /bank/apiDoc',
      'GET /bank/accounts',
      'GET /bank/accounts/:accountId',
    ]);
  });

  const broken: Record<string, [(doc: Doc) => void, RegExp]> = {
    'a 3.0 document': [(d) => (d.openapi = '3.0.3'), /"openapi" must be a 3\.1\.x version/],
    'a missing handler': [
      (d) => (d.paths['/extra'] = { get: { operationId: 'nobody', security: [] } }),
      /no handler for operationId "nobody"/,
    ],
    'an undeclared security scheme': [
      (d) => (d.paths['/products'].get.security = [{ basic: [] }]),
      /"basic" is not declared/,
    ],
    'an API key outside the header': [
      (d) => (d.components.securitySchemes.apiKey.in = 'query'),
      /only in the API-Key header/,
    ],
    'a dangling $ref': [
      (d) => (d.paths['/accounts'].get.parameters = [{ $ref: '#/components/parameters/nope' }]),
      /does not resolve/,
    ],
    'an entitlement on an unknown parameter': [
      (d) => (d.paths['/accounts/{accountId}'].get['x-strongroom-entitlement'][0].name = 'other'),
      /no path parameter "other"/,
    ],
    'an unknown resolver': [
      (d) => (d.paths['/transfers/{transferId}'].get['x-strongroom-entitlement'][0].resolver = 'ghost'),
      /no resolver "ghost"/,
    ],
    'a duplicate operationId': [(d) => (d.paths['/open'].get.operationId = 'listProducts'), /used twice/],
    'an invalid schema': [(d) => (d.components.schemas.money.type = 'banana'), /invalid schema/],
    'an operation without security': [(d) => delete d.paths['/products'].get.security, /no "security"/],
  };
  for (const [name, [mutate, message]] of Object.entries(broken)) {
    test(`refuses ${name} with a message naming the document`, () => {
      assert.throws(
        () => compileApi(withDocument(mutate), ajv(), problems()),
        (error) =>
          error instanceof ApiDocumentError &&
          error.message.startsWith('bank.yaml: ') &&
          message.test(error.message),
      );
    });
  }

  test('a problem type an entitlement answer declares joins the catalogue, described as declared there', () => {
    const catalogue = problems();
    assert.equal(catalogue.get('invalidAccountId'), undefined);
    compileApi(
      withDocument(() => {}),
      ajv(),
      catalogue,
    );
    assert.deepEqual(catalogue.get('invalidAccountId'), {
      status: 422,
      title: 'Invalid account id',
      description: 'Declared by bank.yaml.',
    });
  });

  test('refuses a problem type whose declared status disagrees with the catalogue', () => {
    const notFoundAs422 = withDocument((d) => {
      d.paths['/transfers'].post['x-strongroom-entitlement'][0].notVisible = {
        status: 422,
        type: 'notFound',
      };
    });
    assert.throws(
      () => compileApi(notFoundAs422, ajv(), problems()),
      /problem type "notFound" has status 404/,
    );
  });

  test('refuses a reserved API name', () => {
    assert.throws(
      () => compileApi({ ...withDocument(() => {}), name: 'auth' }, ajv(), problems()),
      /reserved path prefix/,
    );
  });
});

for (const dialect of testDialects()) {
  describe(`gateway routes and throttle (${dialect})`, () => {
    let h: GatewayHarness;
    before(async () => {
      h = await createGatewayHarness({
        dialect,
        apis: [bankApi()],
        gatewayOptions: { preAuthFailures: 3, preAuthWindowSeconds: 60 },
      });
      h.keys.set('good', { ok: true, key: verifiedKey() });
    });
    after(() => h.close());

    test('exposes exactly the documented operations under the API prefix', async () => {
      const [api] = h.gateway.apis();
      const documented = new Set(api?.operations.map((op) => `${op.method} ${op.url}`));
      const routes = h.http
        .printRoutes({ method: 'GET', commonPrefix: false })
        .split('\n')
        .filter((line) => line.includes('/bank'));
      assert.ok(routes.length > 0);
      for (const url of [
        '/bank/v0',
        '/bank/debug',
        '/bank/swagger',
        '/bank/.git',
        '/bank/accounts/acc1/extra',
      ]) {
        const response = await h.http.inject({ method: 'GET', url, headers: { 'api-key': 'good' } });
        assert.equal(response.statusCode, 404, url);
      }
      for (const op of api?.operations ?? []) {
        const url = op.url.replace(/:([A-Za-z_]+)/g, 'x1');
        assert.ok(h.http.hasRoute({ method: op.method as 'GET', url: op.url }), `${op.method} ${url}`);
      }
      assert.equal(documented.size, api?.operations.length);
    });

    test('answers an undocumented method with 405 and Allow', async () => {
      const response = await h.http.inject({
        method: 'DELETE',
        url: '/bank/accounts',
        headers: { 'api-key': 'good' },
      });
      assert.equal(response.statusCode, 405);
      assert.match(String(response.headers.allow), /GET/);
    });

    test('throttles an address after too many failed key attempts, before checking anything else', async () => {
      for (let i = 0; i < 4; i++) {
        await h.http.inject({ method: 'GET', url: '/bank/products', headers: { 'api-key': `bad-${i}` } });
      }
      // Failures are counted after their answers: wait (bounded) until the throttle applies.
      const response = await waitFor(async () => {
        const answer = await h.http.inject({
          method: 'GET',
          url: '/bank/products',
          headers: { 'api-key': 'good' },
        });
        return answer.statusCode === 429 && answer;
      });
      assert.equal(response.statusCode, 429);
      assert.match(String(response.headers['retry-after']), /^\d+$/);
      assert.equal(response.headers['ratelimit-policy'], '"failures";q=3;w=60');
      assert.match(String(response.headers.ratelimit), /^"failures";r=0;t=\d+$/);
    });

    test('an address block lasts in elapsed time: moving the domain clock does not lift it', async () => {
      const from = { remoteAddress: '10.20.30.40' };
      const products = (key: string) =>
        h.http.inject({ method: 'GET', url: '/bank/products', headers: { 'api-key': key }, ...from });
      for (let i = 0; i < 4; i++) await products(`bad-elapsed-${i}`);
      // Failures are counted after their answers: wait (bounded) until the block applies.
      await waitFor(async () => (await products('good')).statusCode === 429).catch(() => {});
      assert.equal((await products('good')).statusCode, 429);
      h.clock.advance(24 * 3600_000);
      assert.equal((await products('good')).statusCode, 429, 'a day of domain time later');
      h.clock.advanceMonotonic(61_000);
      assert.equal((await products('good')).statusCode, 200, 'once the window has elapsed');
    });
  });
}
