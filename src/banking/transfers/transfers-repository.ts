import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { BankingIdempotencyTable, BankingTransferTable } from '../../db/tables/banking.ts';
import type { Visible } from '../accounts/accounts-repository.ts';
import { selectPage } from '../select-page.ts';

export type TransferRow = Selectable<BankingTransferTable>;
export type IdempotencyRow = Selectable<BankingIdempotencyTable>;

/** SQL for transfers and idempotency records. The only code that writes these tables. */
export const transfersRepository = {
  async find(ex: Executor, id: string): Promise<TransferRow | undefined> {
    return ex.selectFrom('banking_transfers').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** The transfer's source account; with `environment`, only when that account is of that environment. */
  async sourceAccountOf(ex: Executor, id: string, environment?: string): Promise<string | undefined> {
    let query = ex.selectFrom('banking_transfers').select('source_account_id').where('id', '=', id);
    if (environment) {
      query = query.where('source_account_id', 'in', (eb) =>
        eb.selectFrom('banking_accounts').select('id').where('environment', '=', environment),
      );
    }
    const row = await query.executeTakeFirst();
    return row?.source_account_id;
  },

  async list(
    ex: Executor,
    visible: Visible,
    filter: { state?: string; environment?: string },
    page: { start: number; limit: number },
  ) {
    if (visible !== '*' && visible.size === 0) return { rows: [] as TransferRow[], count: 0 };
    let query = ex.selectFrom('banking_transfers');
    const { environment } = filter;
    if (environment) {
      query = query.where('source_account_id', 'in', (eb) =>
        eb.selectFrom('banking_accounts').select('id').where('environment', '=', environment),
      );
    }
    if (visible !== '*') query = query.where('source_account_id', 'in', [...visible]);
    if (filter.state) query = query.where('state', '=', filter.state);
    return selectPage(query, page, (q) => q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc'));
  },

  async insert(ex: Executor, row: TransferRow): Promise<void> {
    await ex.insertInto('banking_transfers').values(row).execute();
  },

  /** Cancel only while still scheduled (and at the expected revision); false when that no longer holds. */
  async cancel(ex: Executor, id: string, revision: number, at: string): Promise<boolean> {
    const result = await ex
      .updateTable('banking_transfers')
      .set((eb) => ({ state: 'canceled', updated_at: at, revision: eb('revision', '+', 1) }))
      .where('id', '=', id)
      .where('state', '=', 'scheduled')
      .where('revision', '=', revision)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Ids of transfers due by `today`: scheduled ones, and processing ones whose claim went stale. */
  async due(ex: Executor, today: string, staleBefore: string, limit: number): Promise<string[]> {
    const rows = await ex
      .selectFrom('banking_transfers')
      .select('id')
      .where('start_on', '<=', today)
      .where((eb) =>
        eb.or([
          eb('state', '=', 'scheduled'),
          eb.and([eb('state', '=', 'processing'), eb('claimed_at', '<', staleBefore)]),
        ]),
      )
      .orderBy('start_on')
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  },

  /**
   * Claim a due transfer for one worker: a single conditional UPDATE, so of several processes (or a
   * restarted one) exactly one wins. A stale claim (the worker died) can be taken over.
   */
  async claim(ex: Executor, id: string, worker: string, at: string, staleBefore: string): Promise<boolean> {
    const result = await ex
      .updateTable('banking_transfers')
      .set((eb) => ({
        state: 'processing',
        claimed_at: at,
        claimed_by: worker,
        updated_at: at,
        revision: eb('revision', '+', 1),
      }))
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('state', '=', 'scheduled'),
          eb.and([eb('state', '=', 'processing'), eb('claimed_at', '<', staleBefore)]),
        ]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Finish a claimed transfer inside the posting transaction. It is the transaction's first statement
   * (a write, so SQLite takes the write lock up front) and succeeds only for the current claim holder.
   */
  async finish(
    ex: Executor,
    id: string,
    worker: string,
    outcome: { state: 'processed' | 'failed'; failureReason: string | null; at: string },
  ): Promise<boolean> {
    const result = await ex
      .updateTable('banking_transfers')
      .set((eb) => ({
        state: outcome.state,
        failure_reason: outcome.failureReason,
        processed_at: outcome.state === 'processed' ? outcome.at : null,
        updated_at: outcome.at,
        revision: eb('revision', '+', 1),
      }))
      .where('id', '=', id)
      .where('state', '=', 'processing')
      .where('claimed_by', '=', worker)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async findIdempotency(ex: Executor, scope: string, key: string): Promise<IdempotencyRow | undefined> {
    return ex
      .selectFrom('banking_idempotency')
      .selectAll()
      .where('scope', '=', scope)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  },

  async insertIdempotency(ex: Executor, row: IdempotencyRow): Promise<void> {
    await ex.insertInto('banking_idempotency').values(row).execute();
  },
};

export type TransfersRepository = typeof transfersRepository;
