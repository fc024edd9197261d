/**
 * DESIGN.md §5.2: daily quotas are durable — they survive a restart of the embedded SQLite process (the
 * "120 calls on a 100/day plan across a restart" failure of issue 11).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

describe('a daily quota across a restart (SQLite, no Redis)', () => {
  let t: TestApp;
  let key: string;
  const PER_DAY = 12;

  before(async () => {
    t = await createTestApp({ args: ['--demo'] });
    key = (await readDemoFile(t.dataDir))?.apps.loadTest?.apiKey as string;
    const plans = t.app.services.developers.plans;
    const plan = (await plans.list()).find((p) => p.name === 'loadTest');
    assert.ok(plan);
    await plans.set({ ...plan, perDay: PER_DAY });
    await waitFor(
      async () => {
        const verified = await t.app.services.developers.keyVerifier.verify(key);
        return verified.ok && verified.key.plan.perDay === PER_DAY;
      },
      { what: 'the new plan' },
    );
  });
  after(async () => {
    await t?.close();
    if (t) rmSync(t.dataDir, { recursive: true, force: true });
  });

  const call = (app: TestApp) =>
    app.app.http.inject({ method: 'GET', url: '/products/products', headers: { 'api-key': key } });
  const restart = async () => {
    await t.app.close();
    t = await createTestApp({ dataDir: t.dataDir, args: ['--demo'] });
  };

  test('the calls of the day before a restart still count after it', async () => {
    for (let i = 0; i < 8; i++) assert.equal((await call(t)).statusCode, 200, `call ${i + 1}`);
    await restart();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(t)).statusCode);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  });

  test('an exhausted key stays exhausted after another restart, with Retry-After to the end of the day', async () => {
    await restart();
    const answer = await call(t);
    assert.equal(answer.statusCode, 429);
    const retryAfter = Number(answer.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 86_400, `Retry-After ${retryAfter}`);
    assert.match(String(answer.headers.ratelimit), /^"daily";r=0;t=\d+$/);
  });
});
