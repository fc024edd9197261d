import type { Kysely, Selectable } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import type { BankingApplicationDocumentTable, BankingApplicationTable } from '../../db/tables/banking.ts';
import { selectPage } from '../select-page.ts';

export type ApplicationRow = Selectable<BankingApplicationTable>;
type DocumentRow = Selectable<BankingApplicationDocumentTable>;

/** SQL for account applications and their documents. */
export function createApplicationsRepository(db: Kysely<Database>) {
  return {
    async find(id: string, executor: Executor = db): Promise<ApplicationRow | undefined> {
      return executor.selectFrom('banking_applications').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async list(
      filter: { applicantId?: string; state?: string },
      page: { start: number; limit: number },
      executor: Executor = db,
    ) {
      let query = executor.selectFrom('banking_applications');
      if (filter.applicantId) query = query.where('applicant_id', '=', filter.applicantId);
      if (filter.state) query = query.where('state', '=', filter.state);
      return selectPage(query, page, (q) =>
        q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc'),
      );
    },

    async insert(row: ApplicationRow, executor: Executor = db): Promise<void> {
      await executor.insertInto('banking_applications').values(row).execute();
    },

    /** Move to `to` only from one of `from` at the expected revision; false when that no longer holds. */
    async transition(
      executor: Executor,
      id: string,
      change: {
        from: string[];
        to: string;
        revision?: number;
        at: string;
        decisionReason?: string | null;
        decidedBy?: string | null;
        accountId?: string | null;
      },
    ): Promise<boolean> {
      let query = executor
        .updateTable('banking_applications')
        .set((eb) => ({
          state: change.to,
          updated_at: change.at,
          revision: eb('revision', '+', 1),
          ...(change.decidedBy !== undefined
            ? {
                decided_by: change.decidedBy,
                decided_at: change.at,
                decision_reason: change.decisionReason ?? null,
              }
            : {}),
          ...(change.accountId !== undefined ? { account_id: change.accountId } : {}),
        }))
        .where('id', '=', id)
        .where('state', 'in', change.from);
      if (change.revision !== undefined) query = query.where('revision', '=', change.revision);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Incomplete applications past their expiry become `expired`; returns how many. */
    async expire(now: string, executor: Executor = db): Promise<number> {
      const result = await executor
        .updateTable('banking_applications')
        .set((eb) => ({ state: 'expired', updated_at: now, revision: eb('revision', '+', 1) }))
        .where('state', '=', 'incomplete')
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async documents(
      applicationId: string,
      executor: Executor = db,
    ): Promise<Omit<DocumentRow, 'content_sealed'>[]> {
      return executor
        .selectFrom('banking_application_documents')
        .select(['id', 'application_id', 'kind', 'content_type', 'size_bytes', 'sha256', 'uploaded_at'])
        .where('application_id', '=', applicationId)
        .orderBy('uploaded_at')
        .orderBy('id')
        .execute();
    },

    async documentCount(applicationId: string, executor: Executor = db): Promise<number> {
      const { count } = await executor
        .selectFrom('banking_application_documents')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('application_id', '=', applicationId)
        .executeTakeFirstOrThrow();
      return Number(count);
    },

    async document(
      applicationId: string,
      documentId: string,
      executor: Executor = db,
    ): Promise<DocumentRow | undefined> {
      return executor
        .selectFrom('banking_application_documents')
        .selectAll()
        .where('application_id', '=', applicationId)
        .where('id', '=', documentId)
        .executeTakeFirst();
    },

    async insertDocument(row: DocumentRow, executor: Executor = db): Promise<void> {
      await executor.insertInto('banking_application_documents').values(row).execute();
    },
  };
}

export type ApplicationsRepository = ReturnType<typeof createApplicationsRepository>;
