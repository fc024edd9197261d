/**
 * DESIGN.md §5.2 with PostgreSQL stalled or stopped — through a TCP proxy this test controls, never the
 * machine's shared server: no request, probe or page waits longer than its deadline; the answer is 503
 * `serviceUnavailable` + `Retry-After`, never 500 nor 200 without a verdict; service is back within 5 s
 * of the fault ending. Runs when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { createTestApp, startServer, type TestApp, type TestServer } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

const adminUrl = process.env.TEST_DATABASE_URL;

describe('PostgreSQL stalled or stopped', { skip: adminUrl ? false : 'needs TEST_DATABASE_URL' }, () => {
  let seeder: TestApp;
  let proxy: TcpProxy;
  let b: TestServer;
  let demo: DemoDocument;

  before(async () => {
    seeder = await createTestApp({ dialect: 'postgres', args: ['--demo'] });
    demo = (await readDemoFile(seeder.dataDir)) as DemoDocument;
    const target = new URL(seeder.config.databaseUrl as string);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(target);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    b = await startServer({
      dialect: 'postgres',
      dataDir: seeder.dataDir,
      databaseUrl: viaProxy.toString(),
      args: ['--db-statement-timeout-ms', '1000', '--db-connect-timeout-ms', '500'],
    });
  });
  after(async () => {
    proxy?.restore();
    await b?.close();
    await proxy?.close();
    await seeder?.close();
  });

  const key = () => demo.apps.loadTest?.apiKey as string;
  const products = () => fetch(`${b.baseUrl}/products/products`, { headers: { 'api-key': key() } });
  const ready = () => fetch(`${b.baseUrl}/health/ready`);
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };
  const authorizeUrl = () => {
    const mobile = demo.apps.mobile;
    assert.ok(mobile);
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${b.baseUrl}/auth/oauth2/authorize`);
    url.search = new URLSearchParams({
      client_id: mobile.clientId,
      response_type: 'code',
      redirect_uri: mobile.redirectUri,
      scope: 'openid banking/read',
      state: 'outage',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  };
  const recovered = async () => {
    await waitFor(async () => (await ready()).status === 200, { what: 'readiness back', timeoutMs: 5000 });
    await waitFor(async () => (await products()).status === 200, { what: 'API back', timeoutMs: 5000 });
  };

  test('stalled: readiness answers 503 within 1 s, naming the store', async () => {
    assert.equal((await products()).status, 200);
    proxy.stall();
    try {
      const { value: answer, ms } = await timed(ready);
      assert.ok(ms < 1000, `readiness took ${ms} ms`);
      assert.equal(answer.status, 503);
      const body = (await answer.json()) as { status: string; checks: Record<string, string> };
      assert.equal(body.status, 'unavailable');
      assert.equal(body.checks.store, 'down');
    } finally {
      proxy.restore();
    }
    await recovered();
  });

  test('stalled: API calls answer 503 + Retry-After within the deadline, never 200 or 500', async () => {
    proxy.stall();
    try {
      await waitFor(() => !b.app.context.changes.isFresh(), { what: 'the change log to go stale' });
      const { value: answer, ms } = await timed(products);
      assert.ok(ms < 2000, `the call took ${ms} ms`);
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '1');
      assert.match(((await answer.json()) as { type: string }).type, /\/errors\/serviceUnavailable$/);
    } finally {
      proxy.restore();
    }
    await recovered();
  });

  test('stopped: the authorization endpoint answers 503 + Retry-After, not 500', async () => {
    proxy.refuse();
    try {
      const { value: answer, ms } = await timed(() => fetch(authorizeUrl(), { redirect: 'manual' }));
      assert.ok(ms < 2000, `authorize took ${ms} ms`);
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '1');
    } finally {
      proxy.restore();
    }
    await recovered();
  });

  test('stalled: the sign-in page answers 503 within the statement deadline, not 500', async () => {
    const start = await fetch(authorizeUrl(), { redirect: 'manual' });
    assert.equal(start.status, 303);
    const page = new URL(String(start.headers.get('location')), b.baseUrl).toString();
    const cookie = start.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    assert.equal((await fetch(page, { headers: { cookie } })).status, 200);
    proxy.stall();
    try {
      const { value: answer, ms } = await timed(() => fetch(page, { headers: { cookie } }));
      assert.ok(ms < 3000, `the page took ${ms} ms`);
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '1');
    } finally {
      proxy.restore();
    }
    await recovered();
  });
});
