import { randomInt } from 'node:crypto';
import type { Executor } from '../../db/index.ts';
import { newId } from '../../lib/ids.ts';
import type { EntitlementAdmin } from '../../modules/entitlements/contract.ts';
import type { AccountsRepository } from './accounts-repository.ts';

/** Permissions of the relationships between a user and an account (the entitlements module stores them). */
export const ACCOUNT_PERMISSIONS = {
  owner: ['view', 'viewBalance', 'viewAccountNumber', 'transferFrom', 'transferTo'],
  coOwner: ['view', 'viewBalance', 'viewAccountNumber', 'transferFrom', 'transferTo'],
  beneficialOwner: ['view', 'viewBalance'],
  teller: ['view', 'viewBalance'],
} as const;

/** The demo institution's ABA routing number. */
export const ROUTING_NUMBER = '021000021';

export function newAccountNumber(): string {
  return `4${String(randomInt(0, 1_000_000_000)).padStart(9, '0')}`;
}

/**
 * Open an account inside the caller's transaction and make `holders` its owners/co-owners through the
 * entitlements module (same transaction, so an account never exists without its owner).
 */
export async function openAccount(
  executor: Executor,
  deps: { accounts: AccountsRepository; entitlements: EntitlementAdmin },
  input: {
    productId: string;
    name: string;
    currency: string;
    at: string;
    holders: { userId: string; relationship: keyof typeof ACCOUNT_PERMISSIONS }[];
    id?: string;
    /** Default `production`; sandbox customers' accounts are `sandbox`. */
    environment?: 'production' | 'sandbox';
  },
): Promise<string> {
  const id = input.id ?? newId('acc');
  await deps.accounts.insert(executor, {
    id,
    product_id: input.productId,
    name: input.name,
    account_number: newAccountNumber(),
    routing_number: ROUTING_NUMBER,
    currency: input.currency,
    current_minor: 0,
    available_minor: 0,
    state: 'open',
    opened_at: input.at,
    updated_at: input.at,
    environment: input.environment ?? 'production',
    revision: 1,
  });
  for (const holder of input.holders) {
    await deps.entitlements.grant(
      {
        subject: holder.userId,
        resource: 'account',
        resourceId: id,
        permissions: [...ACCOUNT_PERMISSIONS[holder.relationship]],
        relationship: holder.relationship,
      },
      executor,
    );
  }
  return id;
}
