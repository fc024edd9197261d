import type { Executor } from '../../db/index.ts';
import type { ChangeFeed } from '../../store/index.ts';
import { collection, type Page } from '../http-util.ts';
import { money } from '../money.ts';
import type { ProductRow, ProductsRepository } from './products-repository.ts';

/**
 * The change-log topic of the product catalogue: whoever changes `banking_products` publishes it (in the
 * same transaction), and every process drops its copy within one poll (DESIGN.md §5.3).
 */
export const PRODUCTS_TOPIC = 'products';

/** Serialized pages kept per (category, start, limit); the catalogue is small, the key space is not. */
const MAX_PAGES = 256;

export function productRepresentation(row: ProductRow) {
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

type Representation = ReturnType<typeof productRepresentation>;

/**
 * The product catalogue served from memory: products never change per request, so the whole table is
 * loaded once and every answer body is serialized once (JSON encoding was most of a listing's cost).
 * A `products` change drops everything; a generation counter keeps a load or a page that started before
 * the change from being stored after it.
 */
export function createProductsCatalogue(deps: {
  db: Executor;
  products: ProductsRepository;
  changes: Pick<ChangeFeed, 'subscribe'>;
}) {
  let generation = 0;
  let loading: Promise<Representation[]> | undefined;
  const pages = new Map<string, string>();
  const items = new Map<string, string | null>();

  const invalidate = () => {
    generation++;
    loading = undefined;
    pages.clear();
    items.clear();
  };
  deps.changes.subscribe(PRODUCTS_TOPIC, invalidate);

  const all = (): Promise<Representation[]> => {
    if (!loading) {
      const load = deps.products.listAll(deps.db).then((rows) => rows.map(productRepresentation));
      loading = load;
      // A failed load is not kept: the next request tries again.
      load.catch(() => {
        if (loading === load) loading = undefined;
      });
    }
    return loading;
  };

  return {
    /** One page of the listing as a JSON string. */
    async page(category: string | undefined, page: Page): Promise<string> {
      const key = `${category ?? ''}\u0000${page.start}\u0000${page.limit}`;
      const cached = pages.get(key);
      if (cached !== undefined) return cached;
      const started = generation;
      const products = await all();
      const matching = category ? products.filter((p) => p.category === category) : products;
      const body = JSON.stringify(
        collection(
          matching.slice(page.start, page.start + page.limit),
          page,
          matching.length,
          '/products/products',
          { category },
        ),
      );
      if (started === generation) {
        if (pages.size >= MAX_PAGES) pages.clear();
        pages.set(key, body);
      }
      return body;
    },

    /** One product as a JSON string, or null when there is no such product. */
    async item(id: string): Promise<string | null> {
      const cached = items.get(id);
      if (cached !== undefined) return cached;
      const started = generation;
      const product = (await all()).find((p) => p.id === id);
      const body = product ? JSON.stringify(product) : null;
      // Unknown ids are not remembered: anyone can ask for any number of them.
      if (started === generation && body !== null) items.set(id, body);
      return body;
    },

    /** Drop the copy now (this process); other processes follow the change log. */
    invalidate,
  };
}

export type ProductsCatalogue = ReturnType<typeof createProductsCatalogue>;
