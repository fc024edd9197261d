/**
 * DESIGN.md §5.2 with Redis stopped, frozen (SIGSTOP) or restarted empty — a redis-server of this test's
 * own, never the machine's shared one: every call answers within the deadline, rate limits keep refusing
 * (in-memory fallback, quota ÷ live instances), readiness says `degraded`, Redis is used again by itself,
 * and a Redis restart does not give an exhausted key a new day's quota.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import { startRedisServer } from '../helpers/redis-server.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

describe('Redis outages', () => {
  let t: TestApp;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let key: string;

  before(async () => {
    redis = await startRedisServer();
    const shared = process.env.TEST_REDIS_URL;
    process.env.TEST_REDIS_URL = redis.url;
    try {
      t = await createTestApp({ redis: true, args: ['--demo'] });
    } finally {
      if (shared === undefined) delete process.env.TEST_REDIS_URL;
      else process.env.TEST_REDIS_URL = shared;
    }
    key = (await readDemoFile(t.dataDir))?.apps.loadTest?.apiKey as string;
  });
  after(async () => {
    redis?.thaw();
    await t?.close();
    await redis?.stop();
  });

  const setPlan = async (change: { perSecond: number; burst: number; perDay: number }) => {
    const plans = t.app.services.developers.plans;
    const plan = (await plans.list()).find((p) => p.name === 'loadTest');
    assert.ok(plan);
    await plans.set({ ...plan, ...change });
    await waitFor(
      async () => {
        const verified = await t.app.services.developers.keyVerifier.verify(key);
        return (
          verified.ok &&
          verified.key.plan.burst === change.burst &&
          verified.key.plan.perDay === change.perDay
        );
      },
      { what: 'the new plan' },
    );
  };
  const call = async () => {
    const started = performance.now();
    const answer = await t.app.http.inject({
      method: 'GET',
      url: '/products/products',
      headers: { 'api-key': key },
    });
    return { status: answer.statusCode, ms: performance.now() - started };
  };
  const readiness = async () => {
    const started = performance.now();
    const answer = await t.app.http.inject({ method: 'GET', url: '/health/ready' });
    return { status: answer.statusCode, body: answer.json(), ms: performance.now() - started };
  };
  const logged = (text: string) => t.logs.lines.filter((line) => line.includes(text)).length;
  const backOnRedis = async () => {
    await waitFor(async () => (await readiness()).body.status === 'ready', {
      what: 'readiness back to ready',
      timeoutMs: 5000,
    });
    await waitFor(
      async () => {
        await call();
        return logged('rate limits are shared again') > 0;
      },
      { what: 'rate limits back on Redis', timeoutMs: 5000, intervalMs: 100 },
    );
  };

  test('stopped: calls answer at once, 429s are still enforced, readiness is degraded, Redis comes back by itself', async () => {
    await setPlan({ perSecond: 3, burst: 3, perDay: 1_000_000 });
    assert.equal((await call()).status, 200); // the first call loads the key and its day
    await redis.stop();
    try {
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await call());
      for (const result of results)
        assert.ok(result.ms < 1000, `calls took ${results.map((r) => Math.round(r.ms)).join(',')} ms`);
      const statuses = results.map((r) => r.status);
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
      assert.ok(
        statuses.slice(3).every((s) => s === 429),
        `statuses ${statuses.join(',')}`,
      );
      assert.equal(logged('rate limits fall back to per-instance memory'), 1, 'the fallback is logged once');

      const ready = await readiness();
      assert.ok(ready.ms < 1000, `readiness took ${ready.ms} ms`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, {
        status: 'degraded',
        checks: { store: 'up', changeLog: 'fresh', redis: 'down' },
      });
    } finally {
      await redis.start();
    }
    await backOnRedis();
  });

  test('frozen (SIGSTOP): calls and readiness answer within a second', async () => {
    await setPlan({ perSecond: 1000, burst: 1000, perDay: 1_000_000 });
    assert.equal((await call()).status, 200); // the first call loads the key again
    redis.freeze();
    try {
      for (let i = 0; i < 3; i++) {
        const result = await call();
        assert.ok(result.ms < 1000, `a call took ${result.ms} ms`);
        assert.equal(result.status, 200);
      }
      const ready = await readiness();
      assert.ok(ready.ms < 1000, `readiness took ${ready.ms} ms`);
      assert.equal(ready.body.status, 'degraded');
      assert.equal(ready.body.checks.redis, 'down');
    } finally {
      redis.thaw();
    }
    await backOnRedis();
  });

  test('restarted empty: an exhausted key does not get a new day', async () => {
    await setPlan({ perSecond: 1000, burst: 1000, perDay: 4 });
    // Whatever the earlier tests used of today counts too: exhaust what is left.
    await waitFor(async () => (await call()).status === 429, { what: 'the day to be used up' });
    await redis.stop();
    await redis.start();
    await waitFor(async () => (await readiness()).body.status === 'ready', { what: 'Redis back' });
    for (let i = 0; i < 3; i++) assert.equal((await call()).status, 429);
  });
});
