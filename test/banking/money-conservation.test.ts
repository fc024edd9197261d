import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { addDays } from '../../src/banking/calendar.ts';
import type { Caller, NewTransfer } from '../../src/banking/transfers/transfers-service.ts';
import { AppError } from '../../src/errors/index.ts';
import { createManualClock, type ManualClock } from '../../src/lib/clock.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { bankingOf, ensureProducts, fundedAccount, today, viewFor } from './banking-fixtures.ts';

type Command =
  | { kind: 'create'; from: number; to: number; cents: number; later: boolean }
  | { kind: 'replay'; index: number }
  | { kind: 'cancel'; index: number }
  | { kind: 'process' }
  | { kind: 'nextDay' };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      from: fc.nat(3),
      to: fc.nat(3),
      cents: fc.integer({ min: 1, max: 40_000 }),
      later: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), index: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), index: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('process' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nextDay' as const) }) },
);

for (const dialect of testDialects()) {
  describe(`money conservation (${dialect})`, () => {
    let t: TestApp;
    let clock: ManualClock;
    before(async () => {
      clock = createManualClock(Date.parse('2026-11-29T10:00:00Z'));
      t = await createTestApp({ dialect, clock });
      await ensureProducts(t);
      await bankingOf(t).processor.stop();
    });
    after(() => t.close());

    test('random transfers, replays, cancellations and processing never create or destroy money', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
          run++;
          const { transfersService, processor, accounts } = bankingOf(t);
          const user = `usr_prop_${run}`;
          const funding = [50_000, 20_000, 5_000, 0];
          const ids: string[] = [];
          for (const amount of funding)
            ids.push(await fundedAccount(t, [{ userId: user, relationship: 'owner' }], amount));
          const created: { key: string; body: NewTransfer; id: string }[] = [];
          const caller = (): Caller => ({
            userId: user,
            clientId: 'client_prop',
            entitlements: viewFor(t, user),
            now: clock.now(),
          });
          for (const [step, c] of commands.entries()) {
            if (c.kind === 'create') {
              const body: NewTransfer = {
                sourceAccount: { id: ids[c.from] as string },
                targetAccount: { id: ids[c.to] as string },
                amount: { value: (c.cents / 100).toFixed(2), currency: 'USD' },
                schedule: { start: c.later ? addDays(today(t), 1) : today(t) },
              };
              const key = `prop-${run}-${step}`;
              try {
                const result = await transfersService.create(caller(), key, body);
                created.push({ key, body, id: result.body.id });
              } catch (error) {
                assert.ok(error instanceof AppError && error.type === 'sameAccount', String(error));
              }
            } else if (c.kind === 'replay' && created.length > 0) {
              const original = created[c.index % created.length] as (typeof created)[number];
              const again = await transfersService.create(caller(), original.key, original.body);
              assert.equal(again.body.id, original.id);
            } else if (c.kind === 'cancel' && created.length > 0) {
              const target = created[c.index % created.length] as (typeof created)[number];
              await transfersService.cancel(target.id, clock.now()).catch((error) => {
                assert.ok(error instanceof AppError && error.type === 'transferNotCancelable', String(error));
              });
            } else if (c.kind === 'process') {
              await processor.runOnce();
            } else if (c.kind === 'nextDay') {
              clock.advance(86_400_000);
            }
          }
          clock.advance(2 * 86_400_000);
          await processor.runOnce();

          const balances = [];
          for (const id of ids)
            balances.push(Number((await accounts.find(t.app.context.db, id))?.current_minor));
          assert.equal(
            balances.reduce((a, b) => a + b, 0),
            funding.reduce((a, b) => a + b, 0),
          );
          for (const balance of balances) assert.ok(balance >= 0);
          for (const { id } of created) {
            const { body } = await transfersService.get(id);
            const postings = await accounts.postingsOfTransfer(t.app.context.db, id);
            assert.equal(postings.length, body.state === 'processed' ? 2 : 0, `${id} ${body.state}`);
            assert.ok(['processed', 'failed', 'canceled'].includes(body.state), body.state);
          }
        }),
        { numRuns: dialect === 'postgres' ? 15 : 30 },
      );
    });
  });
}
