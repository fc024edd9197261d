import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BANKING_PROBLEM_TYPES } from '../../src/banking/index.ts';
import { AppError, createProblemCatalogue, ProblemTypeConflict } from '../../src/errors/index.ts';
import { createLogger } from '../../src/http/logger.ts';
import { describeError } from '../../src/http/problem-reply.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createManualClock } from '../../src/lib/clock.ts';
import { createLogCapture, createTestApp, type TestApp } from '../helpers/test-app.ts';

describe('problem type pages (/errors/<name>)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const get = (url: string, accept?: string) =>
    t.app.http.inject({ method: 'GET', url, headers: accept ? { accept } : {} });

  test("a problem's type URI resolves to a JSON description of its type", async () => {
    const refused = await get('/accounts/accounts');
    assert.equal(refused.statusCode, 401);
    const { type, title, status } = refused.json();
    const typeUrl = new URL(type);
    assert.equal(typeUrl.origin, t.config.publicUrl);

    const described = await get(typeUrl.pathname, 'application/json');
    assert.equal(described.statusCode, 200);
    assert.match(String(described.headers['content-type']), /^application\/json/);
    assert.equal(described.headers.vary, 'Accept');
    assert.deepEqual(described.json(), {
      type,
      name: 'unauthorized',
      title,
      status,
      description: described.json().description,
    });
    assert.match(described.json().description, /API key or the access token/);
  });

  test('a browser gets an HTML page with the security headers', async () => {
    const page = await get('/errors/sessionExpired', 'text/html,application/xhtml+xml,*/*;q=0.8');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.match(String(page.headers['x-request-id']), /^req_/);
    assert.match(page.body, /<h1>Session expired<\/h1>/);
    assert.match(page.body, /<dd>401<\/dd>/);
    assert.match(page.body, /Refresh it with the refresh token/);
  });

  test("modules' domain types are served from the catalogue createApp assembled", async () => {
    const described = await get('/errors/invalidAccountId');
    assert.equal(described.statusCode, 200);
    assert.equal(described.json().status, 422);
    assert.equal(described.json().title, BANKING_PROBLEM_TYPES.invalidAccountId.title);
  });

  test('an unknown name is 404 problem+json that does not echo the name', async () => {
    for (const url of ['/errors/noSuchType', '/errors/constructor', '/errors/%3Cscript%3E']) {
      const response = await get(url, 'text/html');
      assert.equal(response.statusCode, 404, url);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(response.json().type, `${t.config.publicUrl}/errors/notFound`);
      assert.doesNotMatch(response.body, /noSuchType|constructor|script/);
    }
  });

  test('/errors/ lists every type, generic and domain, ordered by status', async () => {
    const { items } = (await get('/errors/')).json() as { items: { name: string; status: number }[] };
    const names = items.map((item) => item.name);
    for (const name of ['badRequest', 'notFound', 'tooManyRequests', 'internalError', 'cannotTransferFrom'])
      assert.ok(names.includes(name), name);
    const statuses = items.map((item) => item.status);
    assert.deepEqual(
      statuses,
      [...statuses].sort((a, b) => a - b),
    );
  });
});

describe('problem catalogue', () => {
  test('one name, one status: catalogues that disagree fail at start', () => {
    assert.throws(
      () => createProblemCatalogue({ notFound: { status: 410, title: 'Gone', description: 'Gone.' } }),
      ProblemTypeConflict,
    );
  });

  test('a type name is checked by the compiler; one the app does not hold renders as internalError', async () => {
    const logs = createLogCapture();
    const http = await createHttpServer({
      baseUrl: 'https://bank.example',
      clock: createManualClock(),
      logger: createLogger({ level: 'info', destination: logs.destination }),
      tls: undefined,
      trustProxy: [],
    });
    // @ts-expect-error — a misspelt type is a compile error (`npm run typecheck` fails if this compiles)
    const misspelt = new AppError('notFund', { detail: 'Where is it?' });
    http.get('/misspelt', async () => {
      throw misspelt;
    });
    // A module's type whose catalogue this server was not given (only the generic types here).
    http.get('/unwired', async () => {
      throw new AppError('cannotTransferTo', { detail: 'Not to this account.' });
    });
    try {
      for (const url of ['/misspelt', '/unwired']) {
        const response = await http.inject({ method: 'GET', url });
        assert.equal(response.statusCode, 500, url);
        assert.equal(response.json().type, 'https://bank.example/errors/internalError');
        assert.doesNotMatch(response.body, /Where is it|Not to this account/);
      }
    } finally {
      await http.close();
    }
  });

  test('describeError gives HTML pages the same problem the API answers with', () => {
    const problems = createProblemCatalogue(BANKING_PROBLEM_TYPES);
    const domain = describeError(new AppError('cannotTransferFrom', { detail: 'No.' }), problems);
    assert.deepEqual(
      { type: domain.type, status: domain.status, title: domain.title, detail: domain.detail },
      { type: 'cannotTransferFrom', status: 403, title: 'Cannot transfer from this account', detail: 'No.' },
    );
    const parserError = Object.assign(new Error('Unexpected token } in JSON at position 7'), {
      statusCode: 400,
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
    });
    const parsed = describeError(parserError, problems);
    assert.equal(parsed.status, 400);
    assert.equal(parsed.detail, 'The body is not valid JSON.');
    const crash = describeError(
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      problems,
    );
    assert.equal(crash.status, 500);
    assert.equal(crash.unexpected, true);
    assert.doesNotMatch(crash.detail, /Cannot read/);
  });
});
