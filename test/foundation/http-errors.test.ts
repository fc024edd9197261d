import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { AppError } from '../../src/errors/index.ts';
import { createLogger } from '../../src/http/logger.ts';
import { createHttpServer, type FastifyInstance } from '../../src/http/server.ts';
import { loadTlsMaterial } from '../../src/http/tls.ts';
import { createManualClock, systemClock } from '../../src/lib/clock.ts';
import { createLogCapture } from '../helpers/test-app.ts';

const BASE = 'https://bank.example';

function assertProblem(
  body: Record<string, unknown>,
  status: number,
  typeName: string,
  requestId: string | undefined,
) {
  assert.equal(body.status, status);
  assert.equal(body.type, `${BASE}/errors/${typeName}`);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.match(String(body.id), /^req_[A-Za-z0-9]{20}$/);
  assert.equal(body.id, requestId);
  assert.equal(body.instance, `urn:strongroom:request:${body.id}`);
  assert.match(String(body.occurredAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const text = JSON.stringify(body);
  assert.doesNotMatch(text, /at .*\.ts:\d+|stack|node_modules/i, 'no stack trace in the body');
}

describe('error handler renders problem+json', () => {
  let app: FastifyInstance;
  const logs = createLogCapture();

  before(async () => {
    app = await createHttpServer({
      baseUrl: BASE,
      clock: createManualClock(Date.parse('2026-01-02T03:04:05.000Z')),
      logger: createLogger({ level: 'info', destination: logs.destination }),
      tls: undefined,
      trustProxy: ['127.0.0.1'],
    });
    app.post(
      '/things',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: { name: { type: 'string', maxLength: 10 }, count: { type: 'integer' } },
          },
        },
      },
      async () => ({ ok: true }),
    );
    app.get('/boom', async () => {
      throw new Error('SELECT secret_column FROM internal_table failed at db.ts:42');
    });
    app.get('/domain', async () => {
      throw new AppError('conflict', { detail: 'That name is taken.', reason: 'duplicate name' });
    });
    await app.ready();
  });
  after(() => app.close());

  test('unknown route answers 404 notFound', async () => {
    const res = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assertProblem(res.json(), 404, 'notFound', res.headers['x-request-id'] as string);
  });

  test('wrong method answers 405 with Allow', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/things' });
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, 'POST');
    assertProblem(res.json(), 405, 'methodNotAllowed', res.headers['x-request-id'] as string);
  });

  test('TRACE answers 405', async () => {
    const res = await app.inject({ method: 'TRACE' as 'GET', url: '/' });
    assert.equal(res.statusCode, 405);
  });

  test('validation failure answers 400 with the failing fields', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      payload: { name: 'x'.repeat(11), count: 'two' },
    });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assertProblem(body, 400, 'badRequest', res.headers['x-request-id'] as string);
    const names = body.errors.map((e: { name: string }) => e.name).sort();
    assert.deepEqual(names, ['count', 'name']);
    for (const error of body.errors) assert.equal(error.in, 'body');
  });

  test('unknown JSON fields are rejected, not dropped', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', payload: { name: 'ok', isAdmin: true } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors, [
      { in: 'body', name: 'isAdmin', message: 'is not a recognised field' },
    ]);
  });

  test('malformed JSON answers 400 without parser internals', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    assert.equal(res.statusCode, 400);
    assertProblem(res.json(), 400, 'badRequest', res.headers['x-request-id'] as string);
    assert.doesNotMatch(res.body, /Unexpected|position|SyntaxError/);
  });

  test('body over 1 MiB answers 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(1024 * 1024) }),
    });
    assert.equal(res.statusCode, 413);
    assertProblem(res.json(), 413, 'payloadTooLarge', res.headers['x-request-id'] as string);
  });

  test('unsupported media type answers 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/xml' },
      payload: '<name>x</name>',
    });
    assert.equal(res.statusCode, 415);
    assertProblem(res.json(), 415, 'unsupportedMediaType', res.headers['x-request-id'] as string);
  });

  test('a query string over 8 KiB answers 414', async () => {
    const res = await app.inject({ method: 'GET', url: `/nowhere?q=${'a'.repeat(9000)}` });
    assert.equal(res.statusCode, 414);
    assertProblem(res.json(), 414, 'uriTooLong', res.headers['x-request-id'] as string);
  });

  test('a path over 8 KiB answers 404, never 414', async () => {
    const res = await app.inject({ method: 'GET', url: `/things/${'a'.repeat(9000)}` });
    assert.equal(res.statusCode, 404);
    assertProblem(res.json(), 404, 'notFound', res.headers['x-request-id'] as string);
  });

  test('an unexpected error answers 500 with a fixed message and logs the details with the id', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    assert.equal(res.statusCode, 500);
    const body = res.json();
    assertProblem(body, 500, 'internalError', res.headers['x-request-id'] as string);
    assert.doesNotMatch(res.body, /SELECT|internal_table|db\.ts/);
    const logged = logs.entries().find((e) => e.msg === 'unexpected error');
    assert.ok(logged, 'the error is logged');
    assert.equal(logged.requestId, body.id);
    assert.match(JSON.stringify(logged), /internal_table/);
  });

  test('an AppError keeps its type and detail; its reason stays in the log', async () => {
    const res = await app.inject({ method: 'GET', url: '/domain' });
    assert.equal(res.statusCode, 409);
    const body = res.json();
    assert.equal(body.detail, 'That name is taken.');
    assert.doesNotMatch(res.body, /duplicate name/);
    const line = logs.entries().find((e) => e.requestId === body.id && e.msg === 'request');
    assert.equal(line?.refusal, 'duplicate name');
  });

  test('x-fapi-interaction-id is echoed', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/nowhere',
      headers: { 'x-fapi-interaction-id': 'c770aef3-6784-41f7-8e0e-ff5f97bddb3a' },
    });
    assert.equal(res.headers['x-fapi-interaction-id'], 'c770aef3-6784-41f7-8e0e-ff5f97bddb3a');
  });

  test('security headers are set and X-Powered-By is absent', async () => {
    const res = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.match(String(res.headers['strict-transport-security']), /max-age=31536000/);
    assert.equal(res.headers['x-powered-by'], undefined);
  });
});

describe('header limits on a real TLS socket', () => {
  let app: FastifyInstance;
  let port: number;
  let ca: string;

  before(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-431-'));
    const tls = await loadTlsMaterial({ dataDir, tlsCert: undefined, tlsKey: undefined }, systemClock);
    const { readFileSync } = await import('node:fs');
    ca = readFileSync(String(tls.caFile), 'utf8');
    app = await createHttpServer({
      baseUrl: BASE,
      clock: createManualClock(),
      logger: createLogger({ level: 'silent' }),
      tls: { key: tls.key, cert: tls.cert },
      trustProxy: [],
    });
    app.get('/ok', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  after(() => app.close());

  test('headers over 16 KiB answer 431 problem+json', async () => {
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        socket.write(`GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk;
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(response, /^HTTP\/1\.1 431 /);
    assert.match(response, /content-type: application\/problem\+json/i);
    const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
    assert.equal(body.status, 431);
    assert.equal(body.type, `${BASE}/errors/headersTooLarge`);
  });
});
