import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { BankingAccountTable, BankingTransactionTable } from '../../db/tables/banking.ts';
import { newId } from '../../lib/ids.ts';
import { selectPage } from '../select-page.ts';

export type AccountRow = Selectable<BankingAccountTable>;
export type TransactionRow = Selectable<BankingTransactionTable>;

/** `'*'` (institution-wide) or the ids the caller may see. */
export type Visible = '*' | ReadonlySet<string>;

export interface Posting {
  accountId: string;
  type: 'debit' | 'credit';
  amountMinor: number;
  postedOn: string;
  occurredAt: string;
  description: string;
  category: string;
  transferId?: string;
}

/** SQL for accounts and their transactions. The only code that writes these tables. */
export const accountsRepository = {
  async find(ex: Executor, id: string): Promise<AccountRow | undefined> {
    return ex.selectFrom('banking_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** The visible accounts of one environment (`production` | `sandbox`). */
  async list(
    ex: Executor,
    visible: Visible,
    page: { start: number; limit: number },
    environment = 'production',
  ) {
    if (visible !== '*' && visible.size === 0) return { rows: [] as AccountRow[], count: 0 };
    let query = ex.selectFrom('banking_accounts').where('environment', '=', environment);
    if (visible !== '*') query = query.where('id', 'in', [...visible]);
    return selectPage(query, page, (q) => q.selectAll().orderBy('opened_at').orderBy('id'));
  },

  async insert(ex: Executor, row: AccountRow): Promise<void> {
    await ex.insertInto('banking_accounts').values(row).execute();
  },

  /**
   * Apply one posting: move the balance and append the transaction, in the caller's transaction. A debit
   * that would take the available balance below zero is refused (returns undefined) unless
   * `allowOverdraft`; the conditional UPDATE makes the check and the change one atomic step.
   */
  async post(
    ex: Executor,
    posting: Posting,
    options: { allowOverdraft?: boolean } = {},
  ): Promise<TransactionRow | undefined> {
    const delta = posting.type === 'debit' ? -posting.amountMinor : posting.amountMinor;
    let update = ex
      .updateTable('banking_accounts')
      .set((eb) => ({
        current_minor: eb('current_minor', '+', delta),
        available_minor: eb('available_minor', '+', delta),
        revision: eb('revision', '+', 1),
        updated_at: posting.occurredAt,
      }))
      .where('id', '=', posting.accountId)
      .where('state', '=', 'open');
    if (posting.type === 'debit' && !options.allowOverdraft) {
      update = update.where('available_minor', '>=', posting.amountMinor);
    }
    const updated = await update.returning(['current_minor', 'revision']).executeTakeFirst();
    if (!updated) return undefined;
    const row: TransactionRow = {
      id: newId('trn'),
      account_id: posting.accountId,
      posted_on: posting.postedOn,
      occurred_at: posting.occurredAt,
      type: posting.type,
      amount_minor: posting.amountMinor,
      balance_after_minor: Number(updated.current_minor),
      description: posting.description,
      category: posting.category,
      transfer_id: posting.transferId ?? null,
      sequence: Number(updated.revision),
    };
    await ex.insertInto('banking_transactions').values(row).execute();
    return row;
  },

  /** Bulk history for the demo seed: rows already carry balances; the account gets the final balance. */
  async insertHistory(
    ex: Executor,
    accountId: string,
    rows: TransactionRow[],
    balanceMinor: number,
    at: string,
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += 200) {
      await ex
        .insertInto('banking_transactions')
        .values(rows.slice(i, i + 200))
        .execute();
    }
    await ex
      .updateTable('banking_accounts')
      .set({
        current_minor: balanceMinor,
        available_minor: balanceMinor,
        updated_at: at,
        revision: rows.length + 1,
      })
      .where('id', '=', accountId)
      .execute();
  },

  async transactions(
    ex: Executor,
    accountId: string,
    filter: { startDate?: string; endDate?: string },
    page: { start: number; limit: number },
  ) {
    let query = ex.selectFrom('banking_transactions').where('account_id', '=', accountId);
    if (filter.startDate) query = query.where('posted_on', '>=', filter.startDate);
    if (filter.endDate) query = query.where('posted_on', '<=', filter.endDate);
    return selectPage(query, page, (q) => q.selectAll().orderBy('sequence', 'desc'));
  },

  async totalMinor(ex: Executor): Promise<number> {
    const row = await ex
      .selectFrom('banking_accounts')
      .select((eb) => eb.fn.sum<number>('current_minor').as('total'))
      .executeTakeFirstOrThrow();
    return Number(row.total ?? 0);
  },

  async postingsOfTransfer(ex: Executor, transferId: string): Promise<TransactionRow[]> {
    return ex.selectFrom('banking_transactions').selectAll().where('transfer_id', '=', transferId).execute();
  },
};

export type AccountsRepository = typeof accountsRepository;
