import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { BankingProductTable } from '../../db/tables/banking.ts';
import { selectPage } from '../select-page.ts';

export type ProductRow = Selectable<BankingProductTable>;

/** SQL for the product catalogue. */
export const productsRepository = {
  async find(ex: Executor, id: string): Promise<ProductRow | undefined> {
    return ex.selectFrom('banking_products').selectAll().where('id', '=', id).executeTakeFirst();
  },
  async list(ex: Executor, filter: { category?: string }, page: { start: number; limit: number }) {
    let query = ex.selectFrom('banking_products');
    if (filter.category) query = query.where('category', '=', filter.category);
    return selectPage(query, page, (q) => q.selectAll().orderBy('id'));
  },
  async upsertAll(ex: Executor, rows: ProductRow[]): Promise<void> {
    for (const row of rows) {
      await ex
        .insertInto('banking_products')
        .values(row)
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  },
};

export type ProductsRepository = typeof productsRepository;
