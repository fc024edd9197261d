import type { Executor } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import type { OperationHandler } from '../../modules/gateway/contract.ts';
import { collection, pageOf } from '../http-util.ts';
import { money } from '../money.ts';
import type { ProductRow, ProductsRepository } from './products-repository.ts';

function productRepresentation(row: ProductRow) {
  return {
    id: row.id,
    category: row.category,
    name: row.name,
    description: row.description,
    currency: row.currency,
    apy: row.apy,
    minimumOpeningDeposit: money(Number(row.minimum_opening_deposit_minor), row.currency),
    monthlyFee: money(Number(row.monthly_fee_minor), row.currency),
    ...(row.term_months ? { termMonths: row.term_months } : {}),
    business: row.is_business === 1,
    _links: { self: { href: `/products/products/${row.id}` } },
  };
}

/** Handlers of the Products API (public: API key only). */
export function createProductsHandlers(deps: {
  db: Executor;
  products: ProductsRepository;
}): Record<string, OperationHandler> {
  const { db, products } = deps;
  return {
    async getProducts(call) {
      const page = pageOf(call.query);
      const category = typeof call.query.category === 'string' ? call.query.category : undefined;
      const { rows, count } = await products.list(db, { category }, page);
      return {
        status: 200,
        body: collection(rows.map(productRepresentation), page, count, '/products/products', { category }),
      };
    },
    async getProduct(call) {
      const row = await products.find(db, call.params.productId ?? '');
      if (!row) throw new AppError('notFound', { detail: 'The requested resource does not exist.' });
      return { status: 200, body: productRepresentation(row) };
    },
  };
}
