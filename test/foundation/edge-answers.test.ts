import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { type DemoServer, startDemoServer } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * DESIGN.md §5.1 "Every byte the server sends passes one pipeline" (issue 10 item 4): every class of
 * malformed or unroutable request, sent as raw bytes over TLS, gets one answer shape — problem+json,
 * the same security headers as a normal answer, an `X-Request-Id` that is the problem's id, a log line
 * carrying that id, and nothing of the request echoed.
 */

/** Appears in every request (path, header values); must never come back. */
const ECHO = 'zqxEcho';

/** Headers that legitimately differ between answers. */
const PER_ANSWER = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'x-request-id',
  'allow',
  'cache-control',
  'keep-alive',
  'transfer-encoding',
  'retry-after',
  'www-authenticate',
  'ratelimit',
  'ratelimit-policy',
  'etag',
]);

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
  text: string;
}

describe('edge answers: one shape for every malformed request', () => {
  let t: DemoServer;
  let port: number;
  let ca: Buffer;
  let apiKey: string;
  let reference: Map<string, string>;

  /** Send `bytes` on a fresh TLS connection and read the answer until the server closes it. */
  function send(bytes: string): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () =>
        socket.write(bytes),
      );
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => {
        const split = text.indexOf('\r\n\r\n');
        const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
        const headers = new Map<string, string>();
        for (const line of lines) {
          const at = line.indexOf(':');
          headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
        }
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4), text });
      });
    });
  }

  const request = (line: string, headers: string[] = ['Host: localhost']) =>
    `${line}\r\n${[...headers, `X-Trace: ${ECHO}`, 'Connection: close'].join('\r\n')}\r\n\r\n`;

  before(async () => {
    t = await startDemoServer();
    port = Number(new URL(t.baseUrl).port);
    ca = readFileSync(String(t.app.tls?.caFile));
    apiKey = String(t.demo.apps.mobile?.apiKey);
    const normal = await send(request('GET /health/live HTTP/1.1'));
    assert.equal(normal.status, 200);
    reference = new Map([...normal.headers].filter(([name]) => !PER_ANSWER.has(name)));
    assert.ok(reference.has('strict-transport-security') && reference.has('x-content-type-options'));
  });
  after(() => t.close());

  const longId = `${ECHO}${'<script>'.repeat(300)}`;
  const cases: { name: string; bytes: () => string; status: number; type: string }[] = [
    // Path and percent-encoding, in an id position (after the API-key check) and elsewhere.
    {
      name: 'path segment over 2048 characters in an id position, with a key',
      bytes: () =>
        request(`GET /products/products/${longId} HTTP/1.1`, ['Host: localhost', `API-Key: ${apiKey}`]),
      status: 404,
      type: 'notFound',
    },
    {
      name: 'path segment over 2048 characters in an id position, without a key',
      bytes: () => request(`GET /products/products/${longId} HTTP/1.1`),
      status: 401,
      type: 'unauthorized',
    },
    {
      name: 'undecodable %ff in an id position, with a key',
      bytes: () =>
        request(`GET /products/products/${ECHO}%ff HTTP/1.1`, ['Host: localhost', `API-Key: ${apiKey}`]),
      status: 404,
      type: 'notFound',
    },
    {
      name: 'undecodable %ff in an id position, without a key',
      bytes: () => request(`GET /products/products/%ff${ECHO} HTTP/1.1`),
      status: 401,
      type: 'unauthorized',
    },
    {
      name: 'truncated percent-encoding outside an API',
      bytes: () => request(`GET /${ECHO}%e2%8 HTTP/1.1`),
      status: 404,
      type: 'notFound',
    },
    {
      name: 'path segment over 2048 characters outside an API',
      bytes: () => request(`GET /portal/${longId} HTTP/1.1`),
      status: 404,
      type: 'notFound',
    },
    {
      name: 'query string over 8 KiB',
      bytes: () => request(`GET /health/live?q=${ECHO}${'a'.repeat(9000)} HTTP/1.1`),
      status: 414,
      type: 'uriTooLong',
    },
    // Headers (Node's parser, or missing).
    {
      name: 'headers over 16 KiB',
      bytes: () =>
        request('GET /health/live HTTP/1.1', ['Host: localhost', `X-Big: ${ECHO}${'a'.repeat(20_000)}`]),
      status: 431,
      type: 'headersTooLarge',
    },
    {
      name: 'NUL in a header value',
      bytes: () => request('GET /health/live HTTP/1.1', ['Host: localhost', `X-Nul: ${ECHO}\0x`]),
      status: 400,
      type: 'badRequest',
    },
    {
      name: 'obs-fold header continuation',
      bytes: () => request('GET /health/live HTTP/1.1', ['Host: localhost', `X-Fold: a`, ` ${ECHO}`]),
      status: 400,
      type: 'badRequest',
    },
    {
      name: 'bare LF line endings',
      bytes: () => `GET /health/live HTTP/1.1\nHost: localhost\nX-Trace: ${ECHO}\nConnection: close\n\n`,
      status: 400,
      type: 'badRequest',
    },
    {
      name: 'missing Host',
      bytes: () => request(`GET /health/live?${ECHO} HTTP/1.1`, []),
      status: 400,
      type: 'badRequest',
    },
    // Request line: method and version.
    {
      name: 'a method the parser does not know',
      bytes: () => request(`FROB /${ECHO} HTTP/1.1`),
      status: 400,
      type: 'badRequest',
    },
    {
      name: 'a bad HTTP version',
      bytes: () => request(`GET /${ECHO} HTTP/9.9`),
      status: 400,
      type: 'badRequest',
    },
    {
      name: 'a method no route implements, on an unknown path',
      bytes: () => request(`PROPFIND /${ECHO} HTTP/1.1`),
      status: 501,
      type: 'notImplemented',
    },
    {
      name: 'a known path with another method',
      bytes: () => request('DELETE /health/live HTTP/1.1'),
      status: 405,
      type: 'methodNotAllowed',
    },
    // Body framing.
    {
      name: 'both Content-Length and Transfer-Encoding',
      bytes: () =>
        `POST /auth/oauth2/token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nX-Trace: ${ECHO}\r\n\r\n0\r\n\r\n`,
      status: 400,
      type: 'badRequest',
    },
    // Unrouted.
    {
      name: 'an unknown path',
      bytes: () => request(`GET /nowhere/${ECHO}<script> HTTP/1.1`),
      status: 404,
      type: 'notFound',
    },
    {
      name: 'an unknown /auth path',
      bytes: () => request(`GET /auth/${ECHO} HTTP/1.1`),
      status: 404,
      type: 'notFound',
    },
    {
      name: 'a missing static file',
      bytes: () => request(`GET /static/${ECHO}.css HTTP/1.1`),
      status: 404,
      type: 'notFound',
    },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.type}`, async () => {
      const answer = await send(c.bytes());
      assert.equal(answer.status, c.status, answer.text.slice(0, 400));
      assert.match(String(answer.headers.get('content-type')), /^application\/problem\+json/);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      assert.equal(body.status, c.status);
      assert.equal(body.type, `${t.baseUrl}/errors/${c.type}`);
      // The same security headers as a normal answer (the sign-in pages' CSP differs by design).
      for (const [name, value] of reference) {
        if (name === 'content-security-policy' && c.name.includes('/auth'))
          assert.ok(answer.headers.has(name));
        else assert.equal(answer.headers.get(name), value, `${name} on ${c.name}`);
      }
      const requestId = answer.headers.get('x-request-id');
      assert.match(String(requestId), /^req_[A-Za-z0-9]{20}$/);
      assert.equal(body.id, requestId);
      assert.ok(!answer.text.includes(ECHO), 'nothing of the request is echoed');
      assert.ok(!answer.text.includes('<script>'), 'nothing of the request is echoed');
      const line = await waitFor(() => t.logs.entries().find((entry) => entry.requestId === requestId), {
        what: `a log line with ${requestId}`,
      });
      assert.equal(line.status, c.status);
    });
  }
});
