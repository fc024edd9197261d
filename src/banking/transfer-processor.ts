import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Logger } from '../http/logger.ts';
import { type Clock, isoAt } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { AccountsRepository } from './accounts/accounts-repository.ts';
import { dateIn } from './calendar.ts';
import type { TransfersRepository } from './transfers/transfers-repository.ts';

export interface TransferProcessorOptions {
  db: Kysely<Database>;
  accounts: AccountsRepository;
  transfers: TransfersRepository;
  clock: Clock;
  timeZone: string;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** Poll interval; a due transfer is processed within about this long. Default 1000 ms. */
  pollMs?: number;
  /** A claim older than this is considered abandoned (its worker died) and is taken over. Default 30 s. */
  staleAfterMs?: number;
  /** Extra periodic work run on each tick (e.g. expiring applications). */
  onTick?: () => Promise<void>;
}

class TransferAborted extends Error {}

/**
 * Executes due transfers. Exactly-once, with any number of processes and crashes at any point:
 * 1. a transfer is claimed by one conditional UPDATE (scheduled → processing), committed on its own;
 * 2. the posting transaction first re-asserts the claim (a write, so SQLite takes its write lock before
 *    reading), then debits, credits and marks the transfer processed/failed — all or nothing;
 * 3. a worker killed between 1 and 2 leaves a stale claim that another worker takes over; a slow worker
 *    that lost its claim cannot finish (step 2 checks `claimed_by`), and a unique index on
 *    (transfer_id, type) makes a second debit or credit impossible even if all else failed.
 */
export function createTransferProcessor(options: TransferProcessorOptions) {
  const { db, accounts, transfers, clock, timeZone, logger } = options;
  const pollMs = options.pollMs ?? 1000;
  const staleAfterMs = options.staleAfterMs ?? 30_000;
  const worker = newId('wrk');
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = true;
  let again = false;

  async function processOne(id: string): Promise<boolean> {
    const now = clock.now();
    const at = isoAt(now);
    if (!(await transfers.claim(db, id, worker, at, isoAt(now - staleAfterMs)))) return false;
    // PostgreSQL may abort one of two transactions that lock the same two accounts in opposite order
    // (deadlock detection); the claim is still ours, so settle again rather than wait for it to go stale.
    for (let attempt = 1; ; attempt++) {
      try {
        return await settle(id, at, dateIn(timeZone, now));
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  async function settle(id: string, at: string, today: string): Promise<boolean> {
    try {
      await db.transaction().execute(async (trx) => {
        // Re-assert the claim first: the write lock is taken before anything is read.
        const still = await trx
          .updateTable('banking_transfers')
          .set({ updated_at: at })
          .where('id', '=', id)
          .where('state', '=', 'processing')
          .where('claimed_by', '=', worker)
          .executeTakeFirst();
        if (Number(still.numUpdatedRows) !== 1) throw new TransferAborted('claim lost');
        const transfer = await transfers.find(trx, id);
        if (!transfer) throw new TransferAborted('transfer vanished');
        const memo = transfer.memo ? ` — ${transfer.memo}` : '';
        const debit = await accounts.post(trx, {
          accountId: transfer.source_account_id,
          type: 'debit',
          amountMinor: Number(transfer.amount_minor),
          postedOn: today,
          occurredAt: at,
          description: `Transfer to account *${transfer.target_account_id.slice(-4)}${memo}`,
          category: 'transfer',
          transferId: transfer.id,
        });
        if (!debit) {
          const source = await accounts.find(trx, transfer.source_account_id);
          const failureReason = source?.state === 'open' ? 'insufficientFunds' : 'accountClosed';
          await transfers.finish(trx, id, worker, { state: 'failed', failureReason, at });
          return;
        }
        const credit = await accounts.post(trx, {
          accountId: transfer.target_account_id,
          type: 'credit',
          amountMinor: Number(transfer.amount_minor),
          postedOn: today,
          occurredAt: at,
          description: `Transfer from account *${transfer.source_account_id.slice(-4)}${memo}`,
          category: 'transfer',
          transferId: transfer.id,
        });
        if (!credit) throw new TransferAborted('target closed');
        await transfers.finish(trx, id, worker, { state: 'processed', failureReason: null, at });
      });
    } catch (error) {
      if (!(error instanceof TransferAborted)) throw error;
      if (error.message !== 'target closed') return false;
      await db.transaction().execute(async (trx) => {
        await transfers.finish(trx, id, worker, { state: 'failed', failureReason: 'accountClosed', at });
      });
      return true;
    }
    return true;
  }

  /** Process every transfer due now; returns how many this worker settled. */
  async function runOnce(): Promise<number> {
    const now = clock.now();
    let settled = 0;
    for (;;) {
      const ids = await transfers.due(db, dateIn(timeZone, now), isoAt(now - staleAfterMs), 100);
      let progressed = false;
      for (const id of ids) {
        try {
          if (await processOne(id)) {
            settled++;
            progressed = true;
          }
        } catch (error) {
          logger.warn({ err: error, transferId: id }, 'transfer processing failed; will retry');
        }
      }
      if (ids.length < 100 || !progressed) break;
    }
    await options.onTick?.();
    return settled;
  }

  function schedule(delay: number) {
    if (stopped) return;
    timer = setTimeout(tick, delay);
    timer.unref();
  }

  function tick() {
    timer = undefined;
    running = runOnce()
      .catch((error) => {
        logger.warn({ err: error }, 'transfer processor tick failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule(0);
        } else schedule(pollMs);
      });
  }

  return {
    worker,
    runOnce,
    /** Exposed for crash tests: claim without settling (as a worker killed right after step 1). */
    claimOnly: (id: string) => {
      const now = clock.now();
      return transfers.claim(db, id, worker, isoAt(now), isoAt(now - staleAfterMs));
    },
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    /** Run soon (a transfer due today was just scheduled). */
    kick() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      if (timer) clearTimeout(timer);
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}

export type TransferProcessor = ReturnType<typeof createTransferProcessor>;
