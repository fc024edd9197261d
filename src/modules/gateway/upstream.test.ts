import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import {
  createGatewayHarness,
  type GatewayHarness,
  verifiedKey,
} from '../../../test/gateway/gateway-harness.ts';
import { testDialects } from '../../../test/helpers/test-app.ts';
import { resolveUpstreamApis } from '../../config/index.ts';
import { GATEWAY_JWKS_PATH, IDENTITY_TYP } from './index.ts';

const KEY = 'upstream-test-key';

const DOCUMENT = `
openapi: 3.1.0
info: { title: Partner loans, version: 2.0.0 }
paths:
  /loans/{loanId}:
    get:
      operationId: getLoan
      security: [{ apiKey: [], accessToken: [banking/read] }]
      parameters:
        - { name: loanId, in: path, required: true, schema: { type: string } }
        - { name: X-Trace, in: header, schema: { type: string } }
        - { name: expand, in: query, schema: { type: string } }
      x-strongroom-entitlement: [{ resource: loan, in: path, name: loanId, permission: view }]
      responses: { '200': { description: ok } }
  /loans:
    post:
      operationId: createLoan
      security: [{ apiKey: [], accessToken: [banking/write] }]
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, additionalProperties: false, properties: { amount: { type: string } } }
      responses: { '201': { description: created } }
components:
  securitySchemes:
    apiKey: { type: apiKey, in: header, name: API-Key }
    accessToken: { type: oauth2, flows: { authorizationCode: { authorizationUrl: x, tokenUrl: y, scopes: { banking/read: r, banking/write: w } } } }
`;

/** The configuration `--api loans=<file> --upstream loans=<url>` resolves to. */
function loansUpstream(file: string, upstream: string) {
  const resolved = resolveUpstreamApis({
    apis: { loans: file },
    upstreams: { loans: upstream },
    configFile: undefined,
    cwd: path.dirname(file),
  });
  assert.deepEqual(resolved.issues, []);
  return { upstreamApis: resolved.apis };
}

/** `POST /loans/loans` with a `banking/write` token of alice and the test key. */
async function postLoan(harness: GatewayHarness, payload: string) {
  const write = await harness.sign({ scope: 'banking/write' });
  return harness.http.inject({
    method: 'POST',
    url: '/loans/loans',
    headers: { 'api-key': KEY, authorization: `Bearer ${write}`, 'content-type': 'application/json' },
    payload,
  });
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

for (const dialect of testDialects()) {
  describe(`gateway upstream mode (${dialect})`, () => {
    let h: GatewayHarness;
    let upstream: http.Server;
    let dir: string;
    const seen: Seen[] = [];
    before(async () => {
      upstream = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk) => chunks.push(chunk));
        request.on('end', () => {
          seen.push({
            method: request.method ?? '',
            url: request.url ?? '',
            headers: request.headers,
            body: Buffer.concat(chunks).toString(),
          });
          response.writeHead(request.method === 'POST' ? 201 : 200, {
            'content-type': 'application/json',
            'set-cookie': 'session=upstream; Path=/',
            'x-upstream': 'yes',
            connection: 'keep-alive',
          });
          response.end(JSON.stringify({ ok: true, url: request.url }));
        });
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const port = (upstream.address() as AddressInfo).port;
      dir = mkdtempSync(path.join(tmpdir(), 'sr-upstream-'));
      const file = path.join(dir, 'loans.yaml');
      writeFileSync(file, DOCUMENT);
      h = await createGatewayHarness({
        dialect,
        apis: [],
        config: loansUpstream(file, `http://127.0.0.1:${port}/v2`),
      });
      h.keys.set(KEY, { ok: true, key: verifiedKey() });
      await h.t.app.services.entitlements.grant({
        subject: 'usr_alice',
        resource: 'loan',
        resourceId: 'loan1',
        permissions: ['view'],
        relationship: 'owner',
      });
    });
    after(async () => {
      await h.close();
      await new Promise((resolve) => upstream.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    });

    test('passes the verified identity in one signed header and none of the forged ones', async () => {
      const token = await h.sign();
      seen.length = 0;
      const response = await h.http.inject({
        method: 'GET',
        url: '/loans/loans/loan1?expand=1&access_token=leak',
        headers: {
          'api-key': KEY,
          authorization: `Bearer ${token}`,
          'strongroom-identity': 'forged',
          'x-user-id': 'usr_admin',
          'x-forwarded-user': 'admin',
          'x-forwarded-for': '6.6.6.6',
          'x-remote-user': 'admin',
          cookie: 'a=b',
          'x-trace': 'trace-1',
        },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['x-upstream'], 'yes');
      assert.equal(response.headers['set-cookie'], undefined);
      const [request] = seen;
      assert.ok(request);
      assert.equal(request.url, '/v2/loans/loan1?expand=1');
      for (const forged of [
        'x-user-id',
        'x-forwarded-user',
        'x-remote-user',
        'cookie',
        'api-key',
        'authorization',
      ]) {
        assert.equal(request.headers[forged], undefined, forged);
      }
      assert.notEqual(request.headers['x-forwarded-for'], '6.6.6.6');
      assert.equal(request.headers['x-trace'], 'trace-1');
      const jwks = (await h.http.inject({ method: 'GET', url: GATEWAY_JWKS_PATH })).json();
      const { payload, protectedHeader } = await jwtVerify(
        String(request.headers['strongroom-identity']),
        createLocalJWKSet(jwks),
        {
          issuer: 'https://gw.test/',
          audience: 'https://gw.test/loans',
          currentDate: new Date(h.clock.now()),
        },
      );
      assert.equal(protectedHeader.typ, IDENTITY_TYP);
      assert.equal(payload.sub, 'usr_alice');
      assert.equal(payload.client_id, 'client_a');
      assert.equal(payload.application_id, 'app_a');
      assert.equal(payload.api_key_id, 'key_a');
      assert.equal(payload.environment, 'production');
      assert.equal(payload.scope, 'banking/read');
      assert.equal(payload.grant_id, 'grant_1');
      assert.ok((payload.exp as number) - (payload.iat as number) <= 60);
    });

    test("tells the upstream a sandbox key's environment, so it serves sandbox data only", async () => {
      const sandboxKey = 'upstream-sandbox-key';
      h.keys.set(sandboxKey, { ok: true, key: verifiedKey({ environment: 'sandbox' }) });
      seen.length = 0;
      const response = await h.http.inject({
        method: 'GET',
        url: '/loans/loans/loan1',
        headers: { 'api-key': sandboxKey, authorization: `Bearer ${await h.sign()}` },
      });
      assert.equal(response.statusCode, 200);
      const jwks = (await h.http.inject({ method: 'GET', url: GATEWAY_JWKS_PATH })).json();
      const { payload } = await jwtVerify(
        String(seen[0]?.headers['strongroom-identity']),
        createLocalJWKSet(jwks),
        {
          issuer: 'https://gw.test/',
          audience: 'https://gw.test/loans',
          currentDate: new Date(h.clock.now()),
        },
      );
      assert.equal(payload.environment, 'sandbox');
    });

    test('enforces the document before the upstream sees anything', async () => {
      seen.length = 0;
      const token = await h.sign();
      assert.equal((await h.http.inject({ method: 'GET', url: '/loans/loans/loan1' })).statusCode, 401);
      const notEntitled = await h.http.inject({
        method: 'GET',
        url: '/loans/loans/loan2',
        headers: { 'api-key': KEY, authorization: `Bearer ${token}` },
      });
      assert.equal(notEntitled.statusCode, 404);
      const bad = await postLoan(h, '{"amount":"1.00","admin":true}');
      assert.equal(bad.statusCode, 400);
      assert.equal(seen.length, 0);
    });

    test('forwards a valid body byte for byte', async () => {
      seen.length = 0;
      const payload = '{ "amount" : "12.50" }';
      const response = await postLoan(h, payload);
      assert.equal(response.statusCode, 201);
      assert.equal(seen[0]?.body, payload);
    });

    test('answers 502 problem+json when the upstream is down', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const other = await createGatewayHarness({
        dialect,
        apis: [],
        config: loansUpstream(path.join(dir, 'loans.yaml'), `http://127.0.0.1:${port}`),
      });
      try {
        other.keys.set(KEY, { ok: true, key: verifiedKey() });
        const response = await postLoan(other, '{}');
        assert.equal(response.statusCode, 502);
        assert.match(String(response.headers['content-type']), /problem\+json/);
      } finally {
        await other.close();
      }
    });
  });
}
