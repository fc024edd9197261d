import { AppError } from '../../errors/index.ts';
import type { OperationHandler } from '../../modules/gateway/contract.ts';
import { pageOf } from '../http-util.ts';
import type { ProductsCatalogue } from './products-catalogue.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Handlers of the Products API (public: API key only), answered from the in-memory catalogue. */
export function createProductsHandlers(deps: {
  catalogue: ProductsCatalogue;
}): Record<string, OperationHandler> {
  const { catalogue } = deps;
  return {
    async getProducts(call) {
      const page = pageOf(call.query);
      const category = typeof call.query.category === 'string' ? call.query.category : undefined;
      return { status: 200, body: await catalogue.page(category, page), contentType: JSON_TYPE };
    },
    async getProduct(call) {
      const body = await catalogue.item(call.params.productId ?? '');
      if (body === null) throw new AppError('notFound', { detail: 'The requested resource does not exist.' });
      return { status: 200, body, contentType: JSON_TYPE };
    },
  };
}
