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
  return {
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
      const byName = new Map(holders.map((h) => [h.username, h]));
      const held = new Map<string, DemoEntitlement[]>(holders.map((h) => [h.id, []]));
      const today = dateIn(deps.timeZone, now);
      let seed = 20261301;
      for (const plan of SANDBOX_ACCOUNT_PLANS) {
        const owners = plan.holders.filter((h) => byName.has(h.username));
        if (owners.length === 0) continue;
        const first = byName.get(owners[0]?.username ?? '') as SandboxHolder;
        const id = await insertPlannedAccount(trx, accounts, plan, {
          seed: seed++,
          today,
          environment: 'sandbox',
          id: sandboxAccountId(first.id, plan.key),
        });
        for (const holder of owners) {
          const user = byName.get(holder.username) as SandboxHolder;
          const permissions = [...ACCOUNT_PERMISSIONS[holder.relationship]];
          await entitlements.grant(
            {
              subject: user.id,
              resource: 'account',
              resourceId: id,
              permissions,
              relationship: holder.relationship,
            },
            trx,
          );
          held.get(user.id)?.push({ resource: 'account', id, permissions });
        }
      }
      return held;
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
