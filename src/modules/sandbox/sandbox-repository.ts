import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { SandboxCustomersTable } from '../../db/tables/sandbox.ts';

export type SandboxCustomerRow = Selectable<SandboxCustomersTable> & { username: string };

/** SQL of `sandbox_customers`. */
export const sandboxRepository = {
  async insert(ex: Executor, row: Selectable<SandboxCustomersTable>): Promise<void> {
    await ex.insertInto('sandbox_customers').values(row).execute();
  },

  /** Every sandbox customer with their username, in listing order. */
  async list(ex: Executor): Promise<SandboxCustomerRow[]> {
    return ex
      .selectFrom('sandbox_customers as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .selectAll('s')
      .select('u.username')
      .orderBy('s.position')
      .execute();
  },
};
