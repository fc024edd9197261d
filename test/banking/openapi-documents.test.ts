import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BANKING_APIS, loadBankingDocument } from '../../src/banking/index.ts';
import { API_SCOPE_NAMES } from '../../src/modules/identity/index.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('banking OpenAPI documents', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('lint clean under Redocly and the Spectral OWASP ruleset', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'lint:openapi'], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
      timeout: 180_000,
    });
    assert.match(stdout, /No results with a severity of 'warn' or higher found/);
  });

  test('every operation has security, an operationId with a handler, and 400/401/403/429 answers', () => {
    const handlers = new Map(t.app.services.banking.apis.map((api) => [api.name, api.handlers]));
    for (const name of BANKING_APIS) {
      const document = loadBankingDocument(name);
      const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
      for (const [route, item] of Object.entries(paths)) {
        for (const method of METHODS) {
          const operation = item[method];
          if (!operation) continue;
          const where = `${name} ${method.toUpperCase()} ${route}`;
          assert.ok(Array.isArray(operation.security) && operation.security.length > 0, `${where}: security`);
          assert.ok(handlers.get(name)?.[String(operation.operationId)], `${where}: handler`);
          const responses = Object.keys(operation.responses as object);
          for (const status of ['400', '401', '403', '429'])
            assert.ok(responses.includes(status), `${where}: ${status}`);
        }
      }
    }
  });

  test("every document's OAuth scopes are the platform's, each family complete with its /full scope", () => {
    const documents = [...t.app.services.banking.apis, ...t.app.services.developers.apis].map(
      (api) => api.document,
    );
    assert.ok(documents.length >= 7);
    const family = (scope: string) => scope.split('/')[0];
    for (const document of documents) {
      const schemes = (document.components as { securitySchemes: Record<string, { flows?: unknown }> })
        .securitySchemes;
      const flows = schemes.accessToken?.flows as Record<string, { scopes: Record<string, string> }>;
      for (const flow of Object.values(flows)) {
        const declared = Object.keys(flow.scopes);
        const families = new Set(declared.map(family));
        const expected = API_SCOPE_NAMES.filter((scope) => families.has(family(scope)));
        assert.deepEqual(declared.sort(), [...expected].sort(), document.info.title);
      }
    }
  });

  test('every documented operation is routed (401 without a key), and undocumented methods are 405', async () => {
    for (const name of BANKING_APIS) {
      const document = loadBankingDocument(name);
      const paths = document.paths as Record<string, Record<string, unknown>>;
      for (const [route, item] of Object.entries(paths)) {
        const url = `/${name}${route.replace(/\{[^}]+\}/g, 'x_probe123')}`;
        for (const method of METHODS) {
          const response = await t.app.http.inject({ method: method.toUpperCase() as 'GET', url });
          if (item[method]) assert.equal(response.statusCode, 401, `${method} ${url}`);
          else assert.equal(response.statusCode, 405, `${method} ${url}`);
        }
      }
    }
  });

  test('paths outside the documents are 404', async () => {
    for (const url of [
      '/accounts/accounts/x/secret',
      '/transfers/debug',
      '/products/v0/products',
      '/accounts/swagger',
    ]) {
      const response = await t.app.http.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
    }
  });
});
