import type { Kysely } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import type { DemoEntitlement, DemoUser } from '../../demo/demo-file.ts';
import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { randomBase62 } from '../../lib/ids.ts';
import type { ModuleContext } from '../module-context.ts';
import { sandboxRepository as repository } from './sandbox-repository.ts';

/** The sandbox's test customers (DESIGN.md §5.4); their accounts are planned by the banking side. */
export const SANDBOX_CUSTOMERS = [
  { username: 'sandbox.alex', persona: 'sandbox retail customer', displayName: 'Alex Sandbox' },
  { username: 'sandbox.blake', persona: 'sandbox retail customer', displayName: 'Blake Sandbox' },
] as const;

/** The role every sandbox customer holds. */
const CUSTOMER_ROLE = 'customer';

/** A sandbox customer as the banking side needs it. */
export interface SandboxHolder {
  id: string;
  username: string;
}

/** The banking data of the sandbox (implemented by banking): both run in the caller's transaction. */
export interface SandboxBankingData {
  seed(
    trx: Executor,
    holders: readonly SandboxHolder[],
    now: number,
  ): Promise<Map<string, DemoEntitlement[]>>;
  clear(trx: Executor, holders: readonly SandboxHolder[]): Promise<void>;
  /** What each holder holds once seeded (account ids are stable across resets). */
  holdings(holders: readonly SandboxHolder[]): Map<string, DemoEntitlement[]>;
}

/** What the sandbox needs of the identity module. */
export interface SandboxIdentity {
  ensureDefaultRoles(): Promise<void>;
  createUser(
    input: {
      username: string;
      password: string;
      roles: string[];
      displayName?: string;
      environment?: 'production' | 'sandbox';
    },
    executor?: Executor,
  ): Promise<{ id: string; username: string; roles: string[] }>;
  scopesOf(userId: string): Promise<Iterable<string>>;
  unlock(userId: string): Promise<unknown>;
}

/** A sandbox customer as the portal shows them (test credentials, for every signed-in developer). */
export interface SandboxCustomer {
  id: string;
  username: string;
  persona: string;
  password: string;
}

/** Who resets the sandbox: a developer acting for an organization (audited). */
export interface SandboxResetActor {
  userId: string;
  organizationId: string;
  requestId?: string;
}

const sealContext = (userId: string) => `sandbox-customer:${userId}`;

/**
 * The sandbox institution: test customers who live in the `sandbox` environment (they sign in only through
 * sandbox applications, and sandbox keys see only their data), with accounts and history; their passwords
 * are kept sealed so the portal can show them; a reset puts their banking data back as seeded.
 */
export function createSandboxService(
  context: Pick<ModuleContext, 'clock' | 'sealer' | 'audit'> & { db: Kysely<Database> },
  deps: { identity: SandboxIdentity; data: SandboxBankingData },
) {
  const { db, clock, sealer, audit } = context;
  const { identity, data } = deps;

  const holdersOf = async (ex: Executor): Promise<SandboxHolder[]> =>
    (await repository.list(ex)).map((row) => ({ id: row.user_id, username: row.username }));

  /** The customers, their sealed passwords and their banking data, in one transaction. */
  const create = () =>
    db.transaction().execute(async (trx) => {
      const at = isoAt(clock.now());
      const holders: SandboxHolder[] = [];
      for (const [position, spec] of SANDBOX_CUSTOMERS.entries()) {
        const password = randomBase62(16);
        const user = await identity.createUser(
          {
            username: spec.username,
            password,
            roles: [CUSTOMER_ROLE],
            displayName: spec.displayName,
            environment: 'sandbox',
          },
          trx,
        );
        await repository.insert(trx, {
          user_id: user.id,
          persona: spec.persona,
          password_sealed: sealer.seal(password, sealContext(user.id)),
          position,
          created_at: at,
        });
        holders.push({ id: user.id, username: user.username });
      }
      const held = await data.seed(trx, holders, clock.now());
      await audit.record(
        { actor: { type: 'system' }, action: 'sandbox.enabled', target: { type: 'sandbox', id: null } },
        trx,
      );
      return held;
    });

  const service = {
    /**
     * Create the sandbox customers and their banking data, all in one transaction; does nothing when they
     * exist. Returns what each new customer holds (empty when nothing was created).
     */
    async enable(): Promise<Map<string, DemoEntitlement[]>> {
      if ((await repository.list(db)).length > 0) return new Map();
      // Outside the transaction: on SQLite a read on `db` would wait behind it.
      await identity.ensureDefaultRoles();
      return create().catch(async (error: unknown) => {
        // Another process enabled it at the same time (its usernames are taken now): that is success.
        if ((await repository.list(db)).length > 0) return new Map<string, DemoEntitlement[]>();
        throw error;
      });
    },

    /** The sandbox customers with their passwords (empty when the sandbox is not enabled). */
    async customers(): Promise<SandboxCustomer[]> {
      return (await repository.list(db)).map((row) => ({
        id: row.user_id,
        username: row.username,
        persona: row.persona,
        password: sealer.open(row.password_sealed, sealContext(row.user_id)),
      }));
    },

    /**
     * Put the sandbox's banking data back as seeded: every sandbox account, transaction, transfer and
     * application goes and the seed is written again, in one transaction (all or nothing). Passwords stay;
     * customers locked out by failed sign-ins (their passwords are shared with every developer, so anyone
     * can lock them) are unlocked.
     */
    async reset(actor: SandboxResetActor): Promise<void> {
      const holders = await holdersOf(db);
      if (holders.length === 0)
        throw new AppError('notFound', { detail: 'This institution has no sandbox.' });
      await db.transaction().execute(async (trx) => {
        await data.clear(trx, holders);
        await data.seed(trx, holders, clock.now());
        await audit.record(
          {
            actor: { type: 'user', id: actor.userId },
            action: 'sandbox.reset',
            target: { type: 'organization', id: actor.organizationId },
            requestId: actor.requestId,
          },
          trx,
        );
      });
      for (const holder of holders) await identity.unlock(holder.id);
    },

    /** The sandbox customers in demo.json's `users` shape (DESIGN.md §5.4 `sandboxUsers`). */
    async demoUsers(): Promise<DemoUser[]> {
      const held = data.holdings(await holdersOf(db));
      const out: DemoUser[] = [];
      for (const customer of await service.customers()) {
        out.push({
          id: customer.id,
          username: customer.username,
          persona: customer.persona,
          password: customer.password,
          roles: [CUSTOMER_ROLE],
          scopes: [...(await identity.scopesOf(customer.id))].sort(),
          entitlements: held.get(customer.id) ?? [],
        });
      }
      return out;
    },
  };
  return service;
}

export type SandboxService = ReturnType<typeof createSandboxService>;
