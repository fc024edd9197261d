import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addDays } from '../../src/banking/calendar.ts';
import { createTransferProcessor } from '../../src/banking/transfer-processor.ts';
import type { Caller, NewTransfer } from '../../src/banking/transfers/transfers-service.ts';
import { createManualClock, type ManualClock } from '../../src/lib/clock.ts';
import { rejectsWith } from '../helpers/assertions.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { bankingOf, ensureProducts, fundedAccount, today, viewFor } from './banking-fixtures.ts';

const ALICE = 'usr_alice_transfers';
const BOB = 'usr_bob_transfers';

for (const dialect of testDialects()) {
  describe(`transfers service and processor (${dialect})`, () => {
    let t: TestApp;
    let clock: ManualClock;
    let aliceChecking: string;
    let aliceSavings: string;
    let bobChecking: string;
    let bobEuro: string;
    let caller: Caller;
    before(async () => {
      clock = createManualClock(Date.parse('2026-11-29T10:00:00Z'));
      t = await createTestApp({ dialect, clock });
      await ensureProducts(t);
      aliceChecking = await fundedAccount(t, [{ userId: ALICE, relationship: 'owner' }], 100_000);
      aliceSavings = await fundedAccount(t, [{ userId: ALICE, relationship: 'owner' }], 50_000);
      bobChecking = await fundedAccount(t, [{ userId: BOB, relationship: 'owner' }], 20_000);
      bobEuro = await fundedAccount(t, [{ userId: ALICE, relationship: 'owner' }], 0, 'EUR');
      // bob's account is visible to alice (as a beneficial owner would see it) but she may not move money.
      await t.app.services.entitlements.grant({
        subject: ALICE,
        resource: 'account',
        resourceId: bobChecking,
        permissions: ['view'],
        relationship: 'beneficialOwner',
      });
      caller = { userId: ALICE, clientId: 'client_test', entitlements: viewFor(t, ALICE), now: clock.now() };
    });
    after(() => t.close());

    const body = (overrides: Partial<NewTransfer> = {}): NewTransfer => ({
      sourceAccount: { id: aliceChecking },
      targetAccount: { id: aliceSavings },
      amount: { value: '10.00', currency: 'USD' },
      schedule: { start: today(t) },
      ...overrides,
    });

    test('a due transfer is processed: one debit, one credit, both balances moved', async () => {
      const { transfersService, processor, accounts } = bankingOf(t);
      await processor.stop();
      const created = await transfersService.create(caller, 'key-process-1', body({ memo: 'Rent' }));
      assert.equal(created.status, 201);
      assert.equal(created.body.state, 'scheduled');
      const before1 = (await accounts.find(t.app.context.db, aliceChecking))?.current_minor;
      const before2 = (await accounts.find(t.app.context.db, aliceSavings))?.current_minor;
      await processor.runOnce();
      const after = await transfersService.get(created.body.id);
      assert.equal(after.body.state, 'processed');
      const postings = await accounts.postingsOfTransfer(t.app.context.db, created.body.id);
      assert.deepEqual(postings.map((p) => [p.type, p.account_id, Number(p.amount_minor)]).sort(), [
        ['credit', aliceSavings, 1000],
        ['debit', aliceChecking, 1000],
      ]);
      assert.equal(
        Number((await accounts.find(t.app.context.db, aliceChecking))?.current_minor),
        Number(before1) - 1000,
      );
      assert.equal(
        Number((await accounts.find(t.app.context.db, aliceSavings))?.current_minor),
        Number(before2) + 1000,
      );
    });

    test('a transfer scheduled for a later day waits until that day', async () => {
      const { transfersService, processor } = bankingOf(t);
      const created = await transfersService.create(
        caller,
        'key-future-1',
        body({ schedule: { start: addDays(today(t), 2) } }),
      );
      await processor.runOnce();
      assert.equal((await transfersService.get(created.body.id)).body.state, 'scheduled');
      clock.advance(2 * 86_400_000);
      await processor.runOnce();
      assert.equal((await transfersService.get(created.body.id)).body.state, 'processed');
      caller = { ...caller, now: clock.now() };
    });

    test('a replay with the same key and body returns the first result and schedules nothing new', async () => {
      const { transfersService } = bankingOf(t);
      const first = await transfersService.create(
        caller,
        'key-replay-1',
        body({ amount: { value: '1.00', currency: 'USD' } }),
      );
      const again = await transfersService.create(
        caller,
        'key-replay-1',
        body({ amount: { value: '1.00', currency: 'USD' } }),
      );
      assert.equal(again.status, 201);
      assert.equal(again.replayed, true);
      assert.deepEqual(again.body, first.body);
      const { items } = await transfersService.list(new Set([aliceChecking]), {}, { start: 0, limit: 1000 });
      assert.equal(items.filter((i) => i.id === first.body.id).length, 1);
    });

    test('the same key with a different body is 422 idempotencyKeyReused', async () => {
      const { transfersService } = bankingOf(t);
      await transfersService.create(caller, 'key-reuse-1', body());
      await assert.rejects(
        transfersService.create(caller, 'key-reuse-1', body({ amount: { value: '11.00', currency: 'USD' } })),
        rejectsWith('idempotencyKeyReused'),
      );
    });

    test('concurrent requests with one key create one transfer', async () => {
      const { transfersService } = bankingOf(t);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => transfersService.create(caller, 'key-race-1', body())),
      );
      assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    });

    test('rejects a non-positive or over-precise amount with invalidAmount', async () => {
      const { transfersService } = bankingOf(t);
      for (const value of ['0.00', '-5.00', '1.234']) {
        await assert.rejects(
          transfersService.create(
            caller,
            `key-amount-${value}`,
            body({ amount: { value, currency: 'USD' } }),
          ),
          rejectsWith('invalidAmount'),
        );
      }
    });

    test('rejects the same source and target with sameAccount', async () => {
      await assert.rejects(
        bankingOf(t).transfersService.create(
          caller,
          'key-same',
          body({ targetAccount: { id: aliceChecking } }),
        ),
        rejectsWith('sameAccount'),
      );
    });

    test('rejects a currency other than the accounts’ with currencyMismatch', async () => {
      const { transfersService } = bankingOf(t);
      await assert.rejects(
        transfersService.create(caller, 'key-cur-1', body({ amount: { value: '1.00', currency: 'EUR' } })),
        rejectsWith('currencyMismatch'),
      );
      await assert.rejects(
        transfersService.create(caller, 'key-cur-2', body({ targetAccount: { id: bobEuro } })),
        rejectsWith('currencyMismatch'),
      );
    });

    test('rejects a start date in the past with invalidScheduleDate', async () => {
      await assert.rejects(
        bankingOf(t).transfersService.create(
          caller,
          'key-past',
          body({ schedule: { start: addDays(today(t), -1) } }),
        ),
        rejectsWith('invalidScheduleDate'),
      );
    });

    test('an account the user cannot see is invalidAccountId, one seen without permission is cannotTransferTo', async () => {
      const { transfersService } = bankingOf(t);
      await assert.rejects(
        transfersService.create(
          caller,
          'key-unknown',
          body({ targetAccount: { id: 'acc_doesNotExist00000000' } }),
        ),
        rejectsWith('invalidAccountId'),
      );
      await assert.rejects(
        transfersService.create(caller, 'key-bob-to', body({ targetAccount: { id: bobChecking } })),
        rejectsWith('cannotTransferTo'),
      );
      await assert.rejects(
        transfersService.create(caller, 'key-bob-from', body({ sourceAccount: { id: bobChecking } })),
        rejectsWith('cannotTransferFrom'),
      );
    });

    test('a transfer larger than the available balance fails at processing with insufficientFunds', async () => {
      const { transfersService, processor, accounts } = bankingOf(t);
      await processor.runOnce();
      const balance = Number((await accounts.find(t.app.context.db, aliceSavings))?.available_minor);
      const created = await transfersService.create(
        caller,
        'key-nsf',
        body({
          sourceAccount: { id: aliceSavings },
          targetAccount: { id: aliceChecking },
          amount: { value: ((balance + 1) / 100).toFixed(2), currency: 'USD' },
        }),
      );
      await processor.runOnce();
      const after = await transfersService.get(created.body.id);
      assert.equal(after.body.state, 'failed');
      assert.equal(after.body.failureReason, 'insufficientFunds');
      assert.deepEqual(await accounts.postingsOfTransfer(t.app.context.db, created.body.id), []);
      assert.equal(Number((await accounts.find(t.app.context.db, aliceSavings))?.available_minor), balance);
    });

    test('a scheduled transfer can be canceled and is then never processed', async () => {
      const { transfersService, processor, accounts } = bankingOf(t);
      const created = await transfersService.create(caller, 'key-cancel-1', body());
      await transfersService.cancel(created.body.id, clock.now());
      await processor.runOnce();
      assert.equal((await transfersService.get(created.body.id)).body.state, 'canceled');
      assert.deepEqual(await accounts.postingsOfTransfer(t.app.context.db, created.body.id), []);
    });

    test('a processed transfer cannot be canceled (transferNotCancelable)', async () => {
      const { transfersService, processor } = bankingOf(t);
      const created = await transfersService.create(caller, 'key-cancel-2', body());
      await processor.runOnce();
      await assert.rejects(
        transfersService.cancel(created.body.id, clock.now()),
        rejectsWith('transferNotCancelable'),
      );
    });

    test('a claim abandoned by a dead worker is taken over after it goes stale, and posted once', async () => {
      const { transfersService, accounts, transfers } = bankingOf(t);
      const options = {
        db: t.app.context.db,
        accounts,
        transfers,
        clock,
        timeZone: 'UTC',
        logger: t.app.context.logger,
      };
      const dead = createTransferProcessor(options);
      const survivor = createTransferProcessor(options);
      const created = await transfersService.create(caller, 'key-stale-1', body());
      assert.equal(await dead.claimOnly(created.body.id), true);
      await survivor.runOnce();
      assert.equal((await transfersService.get(created.body.id)).body.state, 'processing');
      clock.advance(31_000);
      await survivor.runOnce();
      assert.equal((await transfersService.get(created.body.id)).body.state, 'processed');
      assert.equal((await accounts.postingsOfTransfer(t.app.context.db, created.body.id)).length, 2);
      caller = { ...caller, now: clock.now() };
    });

    test('several processors racing over the same due transfers post each exactly once', async () => {
      const { transfersService, accounts, transfers } = bankingOf(t);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const created = await transfersService.create(
          caller,
          `key-race-proc-${i}`,
          body({ amount: { value: '1.00', currency: 'USD' } }),
        );
        ids.push(created.body.id);
      }
      const options = {
        db: t.app.context.db,
        accounts,
        transfers,
        clock,
        timeZone: 'UTC',
        logger: t.app.context.logger,
      };
      const workers = [
        createTransferProcessor(options),
        createTransferProcessor(options),
        createTransferProcessor(options),
      ];
      const settled = await Promise.all(workers.map((w) => w.runOnce()));
      assert.equal(
        settled.reduce((a, b) => a + b, 0),
        ids.length,
      );
      for (const id of ids) {
        assert.equal((await transfersService.get(id)).body.state, 'processed');
        assert.equal((await accounts.postingsOfTransfer(t.app.context.db, id)).length, 2);
      }
    });
  });
}
