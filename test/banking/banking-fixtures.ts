import { type ACCOUNT_PERMISSIONS, openAccount } from '../../src/banking/accounts/account-opening.ts';
import { demoProducts } from '../../src/banking/demo-seed.ts';
import { isoAt } from '../../src/lib/clock.ts';
import type { EntitlementView } from '../../src/modules/gateway/contract.ts';
import type { TestApp } from '../helpers/test-app.ts';

/** The banking module's services of a test app. */
export function bankingOf(t: TestApp) {
  return t.app.services.banking.services;
}

/** What a handler would get as `call.entitlements` for `subject`, from the real entitlements module. */
export function viewFor(t: TestApp, subject: string): EntitlementView {
  const entitlements = t.app.services.entitlements;
  return {
    has: (type, id, permission) => entitlements.has(subject, type, id, permission),
    ids: (type, permission) => entitlements.ids(subject, type, permission),
  };
}

export async function ensureProducts(t: TestApp): Promise<void> {
  await bankingOf(t).products.upsertAll(t.app.context.db, demoProducts(isoAt(t.app.context.clock.now())));
}

/** Open an account held by `holders`, funded with `fundMinor` (an external deposit). */
export async function fundedAccount(
  t: TestApp,
  holders: { userId: string; relationship: keyof typeof ACCOUNT_PERMISSIONS }[],
  fundMinor: number,
  currency = 'USD',
): Promise<string> {
  const { accounts } = bankingOf(t);
  const db = t.app.context.db;
  const at = isoAt(t.app.context.clock.now());
  return db.transaction().execute(async (trx) => {
    const id = await openAccount(
      trx,
      { accounts, entitlements: t.app.services.entitlements },
      { productId: 'prd_everydayChecking', name: 'Test account', currency, at, holders },
    );
    if (fundMinor > 0) {
      await accounts.post(trx, {
        accountId: id,
        type: 'credit',
        amountMinor: fundMinor,
        postedOn: at.slice(0, 10),
        occurredAt: at,
        description: 'Test deposit',
        category: 'deposit',
      });
    }
    return id;
  });
}

export function today(t: TestApp): string {
  return isoAt(t.app.context.clock.now()).slice(0, 10);
}
