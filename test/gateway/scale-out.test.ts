/**
 * Two gateway processes' worth of state — two complete apps in this process, sharing one PostgreSQL
 * database and one Redis — must behave as one deployment: one rate-limit budget per key, and a revoked
 * token or key refused by both within one second. Runs only when TEST_DATABASE_URL and TEST_REDIS_URL are set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { authorizationCodeFlow } from '../helpers/oauth-flow.ts';
import {
  createTestApp,
  type DemoServer,
  startDemoServer,
  type TestApp,
  testRedisUrl,
} from '../helpers/test-app.ts';
import { timeUntil, waitFor } from '../helpers/wait.ts';

const enabled = Boolean(process.env.TEST_DATABASE_URL && testRedisUrl());

describe('two gateways on PostgreSQL + Redis', {
  skip: enabled ? false : 'needs TEST_DATABASE_URL and TEST_REDIS_URL',
}, () => {
  let a: DemoServer;
  let b: TestApp;
  let demo: DemoDocument;
  const actor = { type: 'system' as const, id: null, institution: true };

  before(async () => {
    a = await startDemoServer({ dialect: 'postgres', redis: true });
    b = await createTestApp({
      dialect: 'postgres',
      redis: true,
      dataDir: a.dataDir,
      databaseUrl: a.config.databaseUrl,
      args: ['--demo', '--public-url', a.config.publicUrl],
    });
    demo = a.demo;
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  const products = (t: TestApp, key: string) =>
    t.app.http.inject({ method: 'GET', url: '/products/products', headers: { 'api-key': key } });

  /** Poll `probe` until it answers `status`; returns the milliseconds it took (Infinity: not in `limitMs`). */
  const until = (status: number, probe: () => Promise<{ statusCode: number }>, limitMs = 3000) =>
    timeUntil(async () => (await probe()).statusCode === status, { timeoutMs: limitMs }).catch(
      () => Number.POSITIVE_INFINITY,
    );

  test('both gateways draw on one rate-limit budget per key', async () => {
    const developers = a.app.services.developers;
    const plan = (await developers.plans.list()).find((p) => p.name === 'loadTest');
    assert.ok(plan);
    await developers.plans.set({ ...plan, perSecond: 4, burst: 4, perDay: 1_000_000 });
    const key = demo.apps.loadTest?.apiKey as string;
    try {
      // Both gateways use the new plan once the change has reached them. (The one-second window opens
      // with the first request: the six below take a few milliseconds.)
      await waitFor(
        async () => {
          for (const t of [a, b]) {
            const verified = await t.app.services.developers.keyVerifier.verify(key);
            if (!verified.ok || verified.key.plan.perSecond !== 4) return false;
          }
          return true;
        },
        { what: 'both gateways to use the new plan' },
      );
      const statuses = [];
      for (const t of [a, b, a, b, a, b]) statuses.push((await products(t, key)).statusCode);
      assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200]);
      assert.ok(statuses.slice(4).includes(429), `statuses ${statuses.join(',')}`);
    } finally {
      await developers.plans.set(plan);
    }
  });

  test('a key revoked on one gateway is refused by the other within one second', async () => {
    const developers = a.app.services.developers;
    const created = await developers.apiKeys.create(
      { clientApplicationId: demo.apps.loadTest?.applicationId as string },
      actor,
    );
    await developers.apiKeys.activate(created.view.id, 'scale-out test', actor);
    assert.ok((await until(200, () => products(b, created.key))) < 3000, 'activation reached B');
    await developers.apiKeys.revoke(created.view.id, 'scale-out test', actor);
    const tookMs = await until(401, () => products(b, created.key));
    assert.ok(tookMs <= 1000, `B refused the revoked key after ${tookMs} ms`);
  });

  test('a token whose grant is revoked on one gateway is refused by the other within one second', async () => {
    const app = demo.apps.loadTest;
    const alice = demo.users.find((u) => u.username === 'alice');
    assert.ok(app && alice);
    const tokens = await authorizationCodeFlow({
      baseUrl: demo.baseUrl,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      redirectUri: app.redirectUri,
      username: 'alice',
      password: alice.password,
      scope: 'banking/read',
    });
    const accounts = () =>
      b.app.http.inject({
        method: 'GET',
        url: '/accounts/accounts',
        headers: { 'api-key': app.apiKey, authorization: `Bearer ${tokens.access_token}` },
      });
    assert.equal((await accounts()).statusCode, 200);
    const revoked = await a.app.services.oauth.clients.revokeGrants(app.clientId, 'scale-out test');
    assert.ok(revoked > 0);
    const tookMs = await until(401, accounts);
    assert.ok(tookMs <= 1000, `B refused the token after ${tookMs} ms`);
  });
});
