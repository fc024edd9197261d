import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createManualClock } from '../../src/lib/clock.ts';
import { randomBase62 } from '../../src/lib/ids.ts';
import { createMemoryState, createRedisState, type SharedState } from '../../src/store/index.ts';
import { testRedisUrl } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

// Memory entries expire on the clock's elapsed time, moved by the test; Redis expires them itself, so
// its variant waits (bounded) until the entry is gone.
const clock = createManualClock();
type Outlive = (state: SharedState, key: string) => Promise<void>;
const variants: [string, () => SharedState, Outlive][] = [
  ['memory', () => createMemoryState(clock), async () => clock.advanceMonotonic(250)],
];
const redisUrl = testRedisUrl();
if (redisUrl)
  variants.push([
    'redis',
    () => createRedisState(redisUrl),
    async (state, key) => {
      await waitFor(async () => (await state.get(key)) === undefined, { what: `${key} to expire` });
    },
  ]);

for (const [name, create, outlive] of variants) {
  describe(`shared state (${name})`, () => {
    let state: SharedState;
    const prefix = `test:${randomBase62(8)}:`;
    before(() => {
      state = create();
    });
    after(() => state.close());

    test('counters increment and expire', async () => {
      assert.equal(await state.increment(`${prefix}c`, 200), 1);
      assert.equal(await state.increment(`${prefix}c`, 200, 4), 5);
      await outlive(state, `${prefix}c`);
      assert.equal(await state.increment(`${prefix}c`, 200), 1);
    });

    test('values are set, read and deleted', async () => {
      await state.set(`${prefix}v`, 'hello', 10_000);
      assert.equal(await state.get(`${prefix}v`), 'hello');
      await state.delete(`${prefix}v`);
      assert.equal(await state.get(`${prefix}v`), undefined);
    });

    test('published messages reach subscribers', async () => {
      const received = new Promise<string>((resolve) => state.subscribe(`${prefix}ch`, resolve));
      // Redis subscriptions are asynchronous: publish until the subscriber is attached.
      let message: string | undefined;
      received.then((m) => {
        message = m;
      });
      await waitFor(
        async () => {
          await state.publish(`${prefix}ch`, 'ping');
          return message !== undefined;
        },
        { intervalMs: 25, what: 'the subscriber to receive a message' },
      );
      assert.equal(await received, 'ping');
    });

    test('a rate limiter refuses the request past its budget', async () => {
      const limiter = state.rateLimiter({ keyPrefix: `${prefix}rl`, points: 3, duration: 10 });
      for (let i = 0; i < 3; i++) await limiter.consume('k');
      await assert.rejects(
        limiter.consume('k'),
        (rejection: { msBeforeNext: number }) => rejection.msBeforeNext > 0,
      );
    });
  });
}

if (redisUrl) {
  describe('shared state across processes', () => {
    test('two Redis-backed states share one rate-limit budget', async () => {
      const a = createRedisState(redisUrl);
      const b = createRedisState(redisUrl);
      try {
        const keyPrefix = `test:${randomBase62(8)}:shared`;
        const limiterA = a.rateLimiter({ keyPrefix, points: 4, duration: 10 });
        const limiterB = b.rateLimiter({ keyPrefix, points: 4, duration: 10 });
        await limiterA.consume('k');
        await limiterB.consume('k');
        await limiterA.consume('k');
        await limiterB.consume('k');
        await assert.rejects(limiterA.consume('k'));
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
