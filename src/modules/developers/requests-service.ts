import type { Executor } from '../../db/index.ts';
import { AppError, problems } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { AuditLog } from '../audit/index.ts';
import { type Actor, auditedBy } from './access.ts';
import { type ApplicationStatesDeps, createApplicationStates } from './application-states.ts';
import {
  type ChangeRequest,
  type ClientApplication,
  REQUEST_STATES,
  type RequestKind,
  type RequestState,
} from './model.ts';
import { requestsRepository as requests } from './requests-repository.ts';
import { oneOf, validateRedirectUris } from './rules.ts';

/** What an application view shows of its pending requests (DESIGN.md §5.1). */
export interface PendingChange {
  requestId: string;
  kind: RequestKind;
  requested: string[];
}

/**
 * File a request inside the caller's transaction (the change that asks for it). One request per kind and
 * application is pending at a time: a newer one replaces what the pending one asks for.
 */
export async function fileRequest(
  trx: Executor,
  deps: { audit: AuditLog; now: number },
  app: ClientApplication,
  kind: RequestKind,
  requested: string[],
  actor: Actor,
): Promise<ChangeRequest> {
  const createdAt = isoAt(deps.now);
  const [pending] = await requests
    .list(trx, { applicationId: app.id, state: 'pending' })
    .then((all) => all.filter((r) => r.kind === kind));
  let request: ChangeRequest;
  if (pending) {
    request = { ...pending, requested, requestedBy: actor.id, createdAt };
    await requests.updatePending(trx, pending.id, { requested, requestedBy: actor.id, createdAt });
  } else {
    request = {
      id: newId('crq'),
      kind,
      applicationId: app.id,
      requested,
      requestedBy: actor.id,
      createdAt,
      state: 'pending',
      decidedBy: null,
      decidedAt: null,
      reason: null,
    };
    await requests.insert(trx, request);
  }
  await deps.audit.record(
    {
      ...auditedBy(actor),
      action: 'changeRequest.created',
      target: { type: 'clientApplication', id: app.id },
      after: { requestId: request.id, kind, requested },
    },
    trx,
  );
  return request;
}

/** The public shape of a request (DESIGN.md §5.5). */
export const requestView = (r: ChangeRequest) => ({
  id: r.id,
  kind: r.kind,
  applicationId: r.applicationId,
  requested: r.requested,
  requestedBy: r.requestedBy,
  createdAt: r.createdAt,
  state: r.state,
  ...(r.decidedAt ? { decidedBy: r.decidedBy, decidedAt: r.decidedAt, reason: r.reason } : {}),
});

/**
 * The institution's queue of application changes (scope, production, redirect-URI requests): listing,
 * and decisions by the FI administrator or the CLI. Approval applies the change to the application and
 * its OAuth client and decides the request in one transaction, audited.
 */
export function createRequests(deps: ApplicationStatesDeps) {
  const { db, access, clock, audit } = deps;
  const states = createApplicationStates(deps);

  async function pendingRequest(id: string, actor: Actor): Promise<ChangeRequest> {
    access.requireInstitution(actor, 'decide requests');
    const request = await requests.find(db, id);
    if (!request) throw problems.notFound();
    if (request.state !== 'pending') {
      throw new AppError('conflict', { detail: `The request is already ${request.state}.` });
    }
    return request;
  }

  const decided = (actor: Actor, state: Exclude<RequestState, 'pending'>, reason: string | null) => ({
    state,
    decidedBy: actor.id ?? actor.type,
    decidedAt: isoAt(clock.now()),
    reason,
  });

  return {
    /** Pending requests of one application, oldest first (for its view's `pendingChanges`). */
    async pendingOf(applicationId: string): Promise<PendingChange[]> {
      const pending = await requests.list(db, { applicationId, state: 'pending' });
      return pending.map((r) => ({ requestId: r.id, kind: r.kind, requested: r.requested }));
    },

    /** The queue (institution only), oldest first; `state` defaults to every state. */
    async list(filter: { state?: string; applicationId?: string }, actor: Actor): Promise<ChangeRequest[]> {
      access.requireInstitution(actor, 'see the request queue');
      const state =
        filter.state === undefined ? undefined : oneOf('state', REQUEST_STATES, filter.state, 'query');
      return requests.list(db, { state, applicationId: filter.applicationId });
    },

    async get(id: string, actor: Actor): Promise<ChangeRequest> {
      access.requireInstitution(actor, 'see the request queue');
      const request = await requests.find(db, id);
      if (!request) throw problems.notFound();
      return request;
    },

    /** Apply what the request asks for and mark it approved, in one transaction. */
    async approve(id: string, actor: Actor, reason: string | null = null): Promise<ChangeRequest> {
      const request = await pendingRequest(id, actor);
      const before = await access.requireApplication(actor, request.applicationId, 'read');
      const after: ClientApplication = {
        ...before,
        version: before.version + 1,
        updatedAt: isoAt(clock.now()),
      };
      if (request.kind === 'scope') after.scopes = [...new Set([...before.scopes, ...request.requested])];
      if (request.kind === 'production') after.environment = 'production';
      if (request.kind === 'redirectUris') {
        const issues = validateRedirectUris(before.kind, request.requested);
        if (issues.length > 0) {
          throw new AppError('conflict', {
            detail:
              'The requested redirect URIs are no longer valid for this application; reject the request.',
            errors: issues,
          });
        }
        after.redirectUris = request.requested;
      }
      const decision = decided(actor, 'approved', reason);
      await states.save(
        before,
        after,
        { actor, action: 'changeRequest.approved', reason: `request ${id}${reason ? `: ${reason}` : ''}` },
        async (trx) => {
          if (!(await requests.decide(trx, id, decision))) {
            throw new AppError('conflict', { detail: 'The request was decided meanwhile.' });
          }
          if (request.kind !== 'production') {
            await deps
              .clients()
              .update(
                before.clientId,
                { name: after.name, redirectUris: after.redirectUris, allowedScopes: after.scopes },
                trx,
              );
          }
        },
      );
      return { ...request, ...decision };
    },

    /** Mark the request rejected; the application stays as it is. */
    async reject(id: string, actor: Actor, reason: string | null = null): Promise<ChangeRequest> {
      const request = await pendingRequest(id, actor);
      const decision = decided(actor, 'rejected', reason);
      await db.transaction().execute(async (trx) => {
        if (!(await requests.decide(trx, id, decision))) {
          throw new AppError('conflict', { detail: 'The request was decided meanwhile.' });
        }
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'changeRequest.rejected',
            target: { type: 'clientApplication', id: request.applicationId },
            reason,
            after: { requestId: id, kind: request.kind, requested: request.requested },
          },
          trx,
        );
      });
      return { ...request, ...decision };
    },
  };
}

export type Requests = ReturnType<typeof createRequests>;
