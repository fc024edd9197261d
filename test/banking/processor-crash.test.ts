import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTransferProcessor } from '../../src/banking/transfer-processor.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';
import { bankingOf, ensureProducts, fundedAccount, viewFor } from './banking-fixtures.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'processor-child.ts');

/**
 * Start a processor process and SIGKILL it as soon as `started()` says it has begun settling transfers
 * (plus `afterMs`), so the kill lands in the middle of a run.
 */
function runAndKill(
  dataDir: string,
  databaseUrl: string | undefined,
  started: () => Promise<boolean>,
  afterMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir, databaseUrl ?? ''], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const poll = async () => {
      await waitFor(async () => child.exitCode !== null || (await started()), {
        intervalMs: 5,
        timeoutMs: 50_000,
        what: 'the processor to start settling',
      });
      setTimeout(() => child.kill('SIGKILL'), afterMs);
    };
    // Never leave a child behind, whatever happens to the test.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.once('data', () => {
      poll().catch((error) => {
        child.kill('SIGKILL');
        reject(error);
      });
    });
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(guard);
      resolve();
    });
  });
}

for (const dialect of testDialects()) {
  describe(`transfer processor killed mid-run (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
      await ensureProducts(t);
      await bankingOf(t).processor.stop();
    });
    after(() => t.close());

    test('posts each due transfer exactly once across kills and a restart', async () => {
      const { transfersService, accounts, transfers } = bankingOf(t);
      const user = 'usr_crash_test';
      const funding = [400_000, 300_000, 200_000];
      const ids = [];
      for (const amount of funding)
        ids.push(await fundedAccount(t, [{ userId: user, relationship: 'owner' }], amount));
      const caller = {
        userId: user,
        clientId: 'client_crash',
        entitlements: viewFor(t, user),
        now: systemClock.now(),
      };
      const created: string[] = [];
      for (let i = 0; i < 150; i++) {
        const from = ids[i % 3] as string;
        const to = ids[(i + 1) % 3] as string;
        const result = await transfersService.create(caller, `crash-${i}`, {
          sourceAccount: { id: from },
          targetAccount: { id: to },
          amount: { value: `${(i % 17) + 1}.25`, currency: 'USD' },
          schedule: { start: new Date(systemClock.now()).toISOString().slice(0, 10) },
        });
        created.push(result.body.id);
      }
      const settledSoFar = async () =>
        Number(
          (
            await t.app.context.db
              .selectFrom('banking_transfers')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('created_by', '=', user)
              .where('state', '!=', 'scheduled')
              .executeTakeFirstOrThrow()
          ).n,
        );
      for (const delay of [0, 15, 40]) {
        const before = await settledSoFar();
        await runAndKill(t.dataDir, t.config.databaseUrl, async () => (await settledSoFar()) > before, delay);
      }
      // The killed processes did real work (so the kills landed mid-run, not before they started).
      assert.ok((await settledSoFar()) > 0);

      // The restarted processor treats every leftover claim as abandoned (the killed workers are gone).
      const restarted = createTransferProcessor({
        db: t.app.context.db,
        accounts,
        transfers,
        clock: systemClock,
        timeZone: 'UTC',
        logger: t.app.context.logger,
        staleAfterMs: 0,
      });
      await restarted.runOnce();

      let processed = 0;
      for (const id of created) {
        const { body } = await transfersService.get(id);
        assert.ok(body.state === 'processed' || body.state === 'failed', `${id} is ${body.state}`);
        const postings = await accounts.postingsOfTransfer(t.app.context.db, id);
        assert.equal(postings.length, body.state === 'processed' ? 2 : 0);
        if (body.state === 'processed') processed++;
      }
      assert.ok(processed > 0);
      let total = 0;
      for (const id of ids) total += Number((await accounts.find(t.app.context.db, id))?.current_minor);
      assert.equal(
        total,
        funding.reduce((a, b) => a + b, 0),
      );
    });
  });
}
