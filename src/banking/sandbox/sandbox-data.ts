import { createHash } from 'node:crypto';
import type { Executor } from '../../db/index.ts';
import type { DemoEntitlement } from '../../demo/demo-file.ts';
import { isoAt } from '../../lib/clock.ts';
import type { EntitlementAdmin } from '../../modules/entitlements/contract.ts';
import { ACCOUNT_PERMISSIONS } from '../accounts/account-opening.ts';
import type { AccountsRepository } from '../accounts/accounts-repository.ts';
import { dateIn } from '../calendar.ts';
import { type DemoAccountPlan, demoProducts, insertPlannedAccount } from '../demo-seed.ts';
import type { ProductsRepository } from '../products/products-repository.ts';
import { sandboxRepository } from './sandbox-repository.ts';

/** The sandbox customers' accounts (DESIGN.md §5.4), by the usernames the sandbox module creates. */
export const SANDBOX_ACCOUNT_PLANS: DemoAccountPlan[] = [
  {
    key: 'alexChecking',
    productId: 'prd_everydayChecking',
    name: 'Everyday Checking',
    holders: [{ username: 'sandbox.alex', relationship: 'owner' }],
    opening: 250000,
    profile: 'personal',
    salary: 240000,
  },
  {
    key: 'alexSavings',
    productId: 'prd_highYieldSavings',
    name: 'High-Yield Savings',
    holders: [{ username: 'sandbox.alex', relationship: 'owner' }],
    opening: 800000,
    profile: 'savings',
  },
  {
    key: 'shared',
    productId: 'prd_premiumChecking',
    name: 'Shared Household Checking',
    holders: [
      { username: 'sandbox.alex', relationship: 'owner' },
      { username: 'sandbox.blake', relationship: 'coOwner' },
    ],
    opening: 400000,
    profile: 'joint',
  },
  {
    key: 'blakeChecking',
    productId: 'prd_everydayChecking',
    name: 'Everyday Checking',
    holders: [{ username: 'sandbox.blake', relationship: 'owner' }],
    opening: 150000,
    profile: 'personal',
    salary: 198000,
  },
];

/**
 * A sandbox account's id: the same after every reset (derived from its first holder and its plan), so ids
 * a developer stored, and demo.json's `sandboxUsers`, stay valid. Shaped like `newId('acc')`.
 */
export function sandboxAccountId(holderId: string, planKey: string): string {
  return `acc_${createHash('sha256').update(`sandbox-account|${holderId}|${planKey}`).digest('hex').slice(0, 20)}`;
}

/** A sandbox customer as the sandbox module knows it. */
export interface SandboxHolder {
  id: string;
  username: string;
}

/**
 * The banking side of the sandbox: its customers' accounts with six months of deterministic history
 * (the demo's generator, other seeds), and their removal. Both run in the caller's transaction, so a
 * reset is all-or-nothing.
 */
export function createSandboxData(deps: {
  accounts: AccountsRepository;
  products: ProductsRepository;
  entitlements: EntitlementAdmin;
  timeZone: string;
}) {
  const { accounts, entitlements } = deps;

  /** The accounts each holder holds once seeded, with the relationship's permissions (ids are stable). */
  const planned = (holders: readonly SandboxHolder[]) => {
    const byName = new Map(holders.map((h) => [h.username, h]));
    const out: {
      plan: DemoAccountPlan;
      id: string;
      holders: { user: SandboxHolder; permissions: string[]; relationship: string }[];
    }[] = [];
    for (const plan of SANDBOX_ACCOUNT_PLANS) {
      const owners = plan.holders.flatMap((h) => {
        const user = byName.get(h.username);
        return user
          ? [{ user, permissions: [...ACCOUNT_PERMISSIONS[h.relationship]], relationship: h.relationship }]
          : [];
      });
      const first = owners[0];
      if (first) out.push({ plan, id: sandboxAccountId(first.user.id, plan.key), holders: owners });
    }
    return out;
  };

  const holdings = (holders: readonly SandboxHolder[]): Map<string, DemoEntitlement[]> => {
    const held = new Map<string, DemoEntitlement[]>(holders.map((h) => [h.id, []]));
    for (const account of planned(holders))
      for (const holder of account.holders)
        held
          .get(holder.user.id)
          ?.push({ resource: 'account', id: account.id, permissions: holder.permissions });
    return held;
  };

  return {
    holdings,

    /** Open the sandbox accounts of `holders` (by username) and entitle them; what each user now holds. */
    async seed(
      trx: Executor,
      holders: readonly SandboxHolder[],
      now: number,
    ): Promise<Map<string, DemoEntitlement[]>> {
      const needed = new Set(SANDBOX_ACCOUNT_PLANS.map((p) => p.productId));
      // A non-demo institution may lack these products; existing ones are left as they are.
      await deps.products.upsertAll(
        trx,
        demoProducts(isoAt(now)).filter((p) => needed.has(p.id)),
      );
      const today = dateIn(deps.timeZone, now);
      let seed = 20261301;
      for (const account of planned(holders)) {
        await insertPlannedAccount(trx, accounts, account.plan, {
          seed: seed++,
          today,
          environment: 'sandbox',
          id: account.id,
        });
        for (const holder of account.holders) {
          await entitlements.grant(
            {
              subject: holder.user.id,
              resource: 'account',
              resourceId: account.id,
              permissions: holder.permissions,
              relationship: holder.relationship,
            },
            trx,
          );
        }
      }
      return holdings(holders);
    },

    /** Remove every sandbox account, transaction, transfer and application, and the holders' entitlements to them. */
    async clear(trx: Executor, holders: readonly SandboxHolder[]): Promise<void> {
      const accountIds = await sandboxRepository.accountIds(trx);
      for (const holder of holders) {
        for (const accountId of accountIds) {
          await entitlements.revoke({ subject: holder.id, resource: 'account', resourceId: accountId }, trx);
        }
      }
      await sandboxRepository.deleteSandboxData(
        trx,
        holders.map((h) => h.id),
      );
    },
  };
}

export type SandboxData = ReturnType<typeof createSandboxData>;
