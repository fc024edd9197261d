import type { Executor } from '../../db/index.ts';

/** SQL that removes the sandbox's banking data; the only code that deletes banking rows wholesale. */
export const sandboxRepository = {
  /** The ids of every sandbox account. */
  async accountIds(ex: Executor): Promise<string[]> {
    const rows = await ex
      .selectFrom('banking_accounts')
      .select('id')
      .where('environment', '=', 'sandbox')
      .execute();
    return rows.map((r) => r.id);
  },

  /**
   * Delete every sandbox account with its transactions and transfers, the sandbox's account applications
   * with their documents, and the idempotency records of the given (sandbox) users — in the caller's
   * transaction, children first (foreign keys).
   */
  async deleteSandboxData(ex: Executor, userIds: readonly string[]): Promise<void> {
    const accounts = ex.selectFrom('banking_accounts').select('id').where('environment', '=', 'sandbox');
    await ex.deleteFrom('banking_transactions').where('account_id', 'in', accounts).execute();
    await ex
      .deleteFrom('banking_transfers')
      .where((eb) =>
        eb.or([eb('source_account_id', 'in', accounts), eb('target_account_id', 'in', accounts)]),
      )
      .execute();
    const applications = ex
      .selectFrom('banking_applications')
      .select('id')
      .where('environment', '=', 'sandbox');
    await ex
      .deleteFrom('banking_application_documents')
      .where('application_id', 'in', applications)
      .execute();
    await ex.deleteFrom('banking_applications').where('environment', '=', 'sandbox').execute();
    await ex.deleteFrom('banking_accounts').where('environment', '=', 'sandbox').execute();
    for (const userId of userIds) {
      // Idempotency scopes are `<userId>:<clientId>`; user ids hold no LIKE wildcards (opaque ids).
      await ex.deleteFrom('banking_idempotency').where('scope', 'like', `${userId}:%`).execute();
    }
  },
};
