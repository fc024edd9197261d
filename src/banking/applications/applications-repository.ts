import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { BankingApplicationDocumentTable, BankingApplicationTable } from '../../db/tables/banking.ts';
import { selectPage } from '../select-page.ts';

export type ApplicationRow = Selectable<BankingApplicationTable>;
type DocumentRow = Selectable<BankingApplicationDocumentTable>;

/** SQL for account applications and their documents. */
export const applicationsRepository = {
  async find(ex: Executor, id: string): Promise<ApplicationRow | undefined> {
    return ex.selectFrom('banking_applications').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async list(
    ex: Executor,
    filter: { applicantId?: string; state?: string; environment?: string },
    page: { start: number; limit: number },
  ) {
    let query = ex.selectFrom('banking_applications');
    if (filter.environment) query = query.where('environment', '=', filter.environment);
    if (filter.applicantId) query = query.where('applicant_id', '=', filter.applicantId);
    if (filter.state) query = query.where('state', '=', filter.state);
    return selectPage(query, page, (q) => q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc'));
  },

  async insert(ex: Executor, row: ApplicationRow): Promise<void> {
    await ex.insertInto('banking_applications').values(row).execute();
  },

  /** Move to `to` only from one of `from` at the expected revision; false when that no longer holds. */
  async transition(
    ex: Executor,
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
    let query = ex
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
  async expire(ex: Executor, now: string): Promise<number> {
    const result = await ex
      .updateTable('banking_applications')
      .set((eb) => ({ state: 'expired', updated_at: now, revision: eb('revision', '+', 1) }))
      .where('state', '=', 'incomplete')
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async documents(ex: Executor, applicationId: string): Promise<Omit<DocumentRow, 'content_sealed'>[]> {
    return ex
      .selectFrom('banking_application_documents')
      .select(['id', 'application_id', 'kind', 'content_type', 'size_bytes', 'sha256', 'uploaded_at'])
      .where('application_id', '=', applicationId)
      .orderBy('uploaded_at')
      .orderBy('id')
      .execute();
  },

  async documentCount(ex: Executor, applicationId: string): Promise<number> {
    const { count } = await ex
      .selectFrom('banking_application_documents')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('application_id', '=', applicationId)
      .executeTakeFirstOrThrow();
    return Number(count);
  },

  async document(ex: Executor, applicationId: string, documentId: string): Promise<DocumentRow | undefined> {
    return ex
      .selectFrom('banking_application_documents')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('id', '=', documentId)
      .executeTakeFirst();
  },

  async insertDocument(ex: Executor, row: DocumentRow): Promise<void> {
    await ex.insertInto('banking_application_documents').values(row).execute();
  },
};

export type ApplicationsRepository = typeof applicationsRepository;
