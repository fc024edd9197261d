import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { ChangeRequestsTable } from '../../db/tables/developers.ts';
import type { ChangeRequest, RequestKind, RequestState } from './model.ts';

// The casts are safe: migration 008 constrains kind and state to the model's values.
function toRequest(row: Selectable<ChangeRequestsTable>): ChangeRequest {
  return {
    id: row.id,
    kind: row.kind as RequestKind,
    applicationId: row.application_id,
    requested: JSON.parse(row.requested_json) as ChangeRequest['requested'],
    requestedBy: row.requested_by,
    createdAt: row.created_at,
    state: row.state as RequestState,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    reason: row.reason,
  };
}

/** SQL of `change_requests`: the institution's queue of application changes. */
export const requestsRepository = {
  async insert(ex: Executor, request: ChangeRequest): Promise<void> {
    await ex
      .insertInto('change_requests')
      .values({
        id: request.id,
        kind: request.kind,
        application_id: request.applicationId,
        requested_json: JSON.stringify(request.requested),
        requested_by: request.requestedBy,
        created_at: request.createdAt,
        state: request.state,
        decided_by: request.decidedBy,
        decided_at: request.decidedAt,
        reason: request.reason,
      })
      .execute();
  },

  /** Replace what a pending request asks for (a newer request of the same kind supersedes it). */
  async updatePending(
    ex: Executor,
    id: string,
    change: { requested: ChangeRequest['requested']; requestedBy: string | null; createdAt: string },
  ): Promise<void> {
    await ex
      .updateTable('change_requests')
      .set({
        requested_json: JSON.stringify(change.requested),
        requested_by: change.requestedBy,
        created_at: change.createdAt,
      })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
  },

  async find(ex: Executor, id: string): Promise<ChangeRequest | undefined> {
    const row = await ex.selectFrom('change_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRequest(row);
  },

  async list(
    ex: Executor,
    filter: { applicationId?: string; state?: RequestState; limit?: number },
  ): Promise<ChangeRequest[]> {
    let query = ex.selectFrom('change_requests').selectAll().orderBy('created_at').orderBy('id');
    if (filter.applicationId) query = query.where('application_id', '=', filter.applicationId);
    if (filter.state) query = query.where('state', '=', filter.state);
    return (await query.limit(Math.min(filter.limit ?? 1000, 1000)).execute()).map(toRequest);
  },

  /** Decide a pending request; false when it was no longer pending (decided meanwhile). */
  async decide(
    ex: Executor,
    id: string,
    decision: {
      state: Exclude<RequestState, 'pending'>;
      decidedBy: string | null;
      decidedAt: string;
      reason: string | null;
    },
  ): Promise<boolean> {
    const result = await ex
      .updateTable('change_requests')
      .set({
        state: decision.state,
        decided_by: decision.decidedBy,
        decided_at: decision.decidedAt,
        reason: decision.reason,
      })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};
