import type { Kysely, Selectable } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import type { BankingProductTable } from '../../db/tables/banking.ts';
import { selectPage } from '../select-page.ts';

export type ProductRow = Selectable<BankingProductTable>;

/** SQL for the product catalogue. */
export function createProductsRepository(db: Kysely<Database>) {
  return {
    async find(id: string, executor: Executor = db): Promise<ProductRow | undefined> {
      return executor.selectFrom('banking_products').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async list(
      filter: { category?: string },
      page: { start: number; limit: number },
      executor: Executor = db,
    ) {
      let query = executor.selectFrom('banking_products');
      if (filter.category) query = query.where('category', '=', filter.category);
      return selectPage(query, page, (q) => q.selectAll().orderBy('id'));
    },
    async upsertAll(rows: ProductRow[], executor: Executor = db): Promise<void> {
      for (const row of rows) {
        await executor
          .insertInto('banking_products')
          .values(row)
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
    },
  };
}

export type ProductsRepository = ReturnType<typeof createProductsRepository>;
