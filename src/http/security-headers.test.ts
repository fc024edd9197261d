import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogCapture } from '../../test/helpers/test-app.ts';
import { createManualClock } from '../lib/clock.ts';
import { createLogger } from './logger.ts';
import { SECURITY_HEADERS } from './security-headers.ts';
import { createHttpServer, type FastifyInstance } from './server.ts';

/** The exact header set `@fastify/helmet` produced with our options before it was replaced. */
const HELMET_SET = {
  'content-security-policy':
    "default-src 'self';base-uri 'none';object-src 'none';frame-ancestors 'none';form-action 'self';img-src 'self' data:;style-src 'self';script-src 'self';connect-src 'self'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

const securityPart = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.keys(HELMET_SET).map((name) => [name, headers[name]]));

describe('precomputed security headers', () => {
  let app: FastifyInstance;

  before(async () => {
    app = await createHttpServer({
      baseUrl: 'https://bank.example',
      clock: createManualClock(Date.parse('2026-01-02T03:04:05.000Z')),
      logger: createLogger({ level: 'info', destination: createLogCapture().destination }),
      tls: undefined,
      trustProxy: ['127.0.0.1'],
    });
    app.get('/ok', async () => ({ ok: true }));
    app.get('/page', async (_request, reply) =>
      reply.header('content-security-policy', "default-src 'self'").type('text/html').send('<p>hi</p>'),
    );
    await app.ready();
  });
  after(() => app.close());

  test('the set is exactly what helmet sent', () => {
    assert.deepEqual({ ...SECURITY_HEADERS }, HELMET_SET);
  });

  test('a 200 answer carries the whole set and a request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/ok' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(securityPart(res.headers), HELMET_SET);
    assert.match(String(res.headers['x-request-id']), /^req_[A-Za-z0-9]{20}$/);
    assert.equal(res.headers['x-powered-by'], undefined);
  });

  test('a 404 and a 414 problem carry the whole set', async () => {
    const missing = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(securityPart(missing.headers), HELMET_SET);
    const long = await app.inject({ method: 'GET', url: `/ok?q=${'a'.repeat(9000)}` });
    assert.equal(long.statusCode, 414);
    assert.match(String(long.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(securityPart(long.headers), HELMET_SET);
  });

  test('a route may replace the CSP and keeps the other headers', async () => {
    const res = await app.inject({ method: 'GET', url: '/page' });
    assert.equal(res.headers['content-security-policy'], "default-src 'self'");
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  });
});
