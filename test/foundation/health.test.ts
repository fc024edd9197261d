/**
 * `/health/ready` (DESIGN.md §5.2): `{ status, checks: { store, changeLog, redis } }`, 503 when this
 * process cannot decide requests (store down, change log stale), answered within one second.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

describe('readiness', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t?.close();
  });

  const ready = () => t.app.http.inject({ method: 'GET', url: '/health/ready' });

  test('a prepared app on a reachable store is ready, and says what it checked', async () => {
    const answer = await ready();
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.deepEqual(answer.json(), {
      status: 'ready',
      checks: { store: 'up', changeLog: 'fresh', redis: 'notConfigured' },
    });
  });

  test('a stale change log makes the process unavailable (503), and it recovers by itself', async () => {
    await t.app.context.changes.stop();
    try {
      const answer = await waitFor(
        async () => {
          const res = await ready();
          return res.statusCode === 503 && res;
        },
        { what: 'readiness to notice the stale change log' },
      );
      assert.deepEqual(answer.json(), {
        status: 'unavailable',
        checks: { store: 'up', changeLog: 'stale', redis: 'notConfigured' },
      });
    } finally {
      t.app.context.changes.start();
    }
    await waitFor(async () => (await ready()).statusCode === 200, { what: 'readiness to recover' });
  });

  test('/health/live answers even while the process is not ready', async () => {
    await t.app.context.changes.stop();
    try {
      const started = performance.now();
      const answer = await t.app.http.inject({ method: 'GET', url: '/health/live' });
      assert.equal(answer.statusCode, 200);
      assert.deepEqual(answer.json(), { status: 'live' });
      assert.ok(performance.now() - started < 1000);
    } finally {
      t.app.context.changes.start();
    }
  });
});
