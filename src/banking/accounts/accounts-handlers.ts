import type { Executor } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import type { ApiCall, OperationHandler } from '../../modules/gateway/contract.ts';
import { collection, etagOf, pageOf, userOf } from '../http-util.ts';
import { money } from '../money.ts';
import type { ProductsRepository } from '../products/products-repository.ts';
import type { AccountRow, AccountsRepository } from './accounts-repository.ts';

const notFound = () => new AppError('notFound', { detail: 'The requested resource does not exist.' });

/** The calling application's environment: a sandbox key sees only sandbox accounts (DESIGN.md §5.4). */
const environmentOf = (call: ApiCall) => call.key.environment ?? 'production';

function accountRepresentation(row: AccountRow, category: string, unmasked: boolean) {
  return {
    id: row.id,
    name: row.name,
    category,
    productId: row.product_id,
    currency: row.currency,
    state: row.state,
    openedAt: row.opened_at,
    accountNumbers: {
      masked: `*${row.account_number.slice(-4)}`,
      ...(unmasked ? { full: row.account_number } : {}),
      routingNumber: row.routing_number,
    },
    _links: {
      self: { href: `/accounts/accounts/${row.id}` },
      balance: { href: `/accounts/accounts/${row.id}/balance` },
      transactions: { href: `/transactions/transactions?account=${row.id}` },
    },
  };
}

/**
 * Handlers of the Accounts and Transactions APIs. The gateway has already checked scopes and the
 * entitlement named in the document; the handlers check again through `call.entitlements` (an account
 * the user is not entitled to is indistinguishable from one that does not exist).
 */
export function createAccountsHandlers(deps: {
  db: Executor;
  accounts: AccountsRepository;
  products: ProductsRepository;
}): Record<string, OperationHandler> {
  const { db, accounts, products } = deps;
  const categories = new Map<string, string>();
  async function categoryOf(productId: string): Promise<string> {
    let category = categories.get(productId);
    if (!category) {
      category = (await products.find(db, productId))?.category ?? 'checking';
      categories.set(productId, category);
    }
    return category;
  }

  async function visibleAccount(call: ApiCall, id: string | undefined, permission: string) {
    userOf(call);
    if (!id || !(await call.entitlements.has('account', id, permission))) throw notFound();
    const row = await accounts.find(db, id);
    if (!row || row.environment !== environmentOf(call)) throw notFound();
    return row;
  }

  return {
    async getAccounts(call) {
      userOf(call);
      const page = pageOf(call.query);
      const visible = await call.entitlements.ids('account', 'view');
      const { rows, count } = await accounts.list(db, visible, page, environmentOf(call));
      const items = [];
      for (const row of rows) items.push(accountRepresentation(row, await categoryOf(row.product_id), false));
      return { status: 200, body: collection(items, page, count, '/accounts/accounts') };
    },

    async getAccount(call) {
      const row = await visibleAccount(call, call.params.accountId, 'view');
      const unmasked = call.query.unmasked === true || call.query.unmasked === 'true';
      if (unmasked && !(await call.entitlements.has('account', row.id, 'viewAccountNumber'))) {
        throw new AppError('cannotViewAccountNumber', {
          detail: 'You may see this account but not its full account number.',
          remediation: 'Request the account without `unmasked=true`.',
        });
      }
      return {
        status: 200,
        body: accountRepresentation(row, await categoryOf(row.product_id), unmasked),
        headers: { etag: etagOf('acc', row.id, Number(row.revision)), 'cache-control': 'no-store' },
      };
    },

    async getBalance(call) {
      const row = await visibleAccount(call, call.params.accountId, 'viewBalance');
      return {
        status: 200,
        body: {
          accountId: row.id,
          current: money(Number(row.current_minor), row.currency),
          available: money(Number(row.available_minor), row.currency),
          updatedAt: row.updated_at,
        },
        headers: { 'cache-control': 'no-store' },
      };
    },

    async getTransactions(call) {
      const accountId = typeof call.query.account === 'string' ? call.query.account : undefined;
      const row = await visibleAccount(call, accountId, 'view');
      const page = pageOf(call.query);
      const startDate = typeof call.query.startDate === 'string' ? call.query.startDate : undefined;
      const endDate = typeof call.query.endDate === 'string' ? call.query.endDate : undefined;
      if (startDate && endDate && startDate > endDate) {
        throw new AppError('badRequest', {
          detail: 'startDate must not be after endDate.',
          errors: [{ in: 'query', name: 'startDate', message: 'must not be after endDate' }],
        });
      }
      const { rows, count } = await accounts.transactions(db, row.id, { startDate, endDate }, page);
      const items = rows.map((t) => ({
        id: t.id,
        accountId: t.account_id,
        type: t.type,
        amount: money(Number(t.amount_minor), row.currency),
        postedOn: t.posted_on,
        occurredAt: t.occurred_at,
        description: t.description,
        category: t.category,
        ...(t.transfer_id ? { transferId: t.transfer_id } : {}),
      }));
      return {
        status: 200,
        body: collection(items, page, count, '/transactions/transactions', {
          account: row.id,
          startDate,
          endDate,
        }),
        headers: { 'cache-control': 'no-store' },
      };
    },
  };
}
