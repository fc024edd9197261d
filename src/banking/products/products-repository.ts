import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { BankingProductTable } from '../../db/tables/banking.ts';

export type ProductRow = Selectable<BankingProductTable>;

/** SQL for the product catalogue. */
export const productsRepository = {
  async find(ex: Executor, id: string): Promise<ProductRow | undefined> {
    return ex.selectFrom('banking_products').selectAll().where('id', '=', id).executeTakeFirst();
  },
  /** The whole catalogue in id order (it is small: the catalogue keeps it in memory). */
  async listAll(ex: Executor): Promise<ProductRow[]> {
    return ex.selectFrom('banking_products').selectAll().orderBy('id').execute();
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
