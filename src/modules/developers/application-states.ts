import type { Executor } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import type { OAuthClients } from '../oauth/contract.ts';
import { type Actor, auditedBy } from './access.ts';
import type { ApiKeys, ApiKeysDeps } from './api-keys-service.ts';
import { applicationsRepository as applications } from './applications-repository.ts';
import { TOPICS } from './key-verifier.ts';
import { APP_STATES, type AppState, type ClientApplication } from './model.ts';
import { assertAppTransition, oneOf } from './rules.ts';

/** What an application's audit record shows (no timestamps or creator: they are in the record itself). */
export const applicationSnapshot = (app: ClientApplication) => {
  const { createdAt: _c, updatedAt: _u, createdBy: _b, ...rest } = app;
  return rest;
};

const STATE_ACTIONS: Record<AppState, (from: AppState) => string> = {
  active: (from) => (from === 'pending' ? 'clientApplication.approved' : 'clientApplication.reinstated'),
  suspended: () => 'clientApplication.suspended',
  deleted: () => 'clientApplication.deleted',
  pending: () => 'clientApplication.updated',
};

/**
 * Saving an application and the cascades of its state changes, shared by every change of an
 * application: suspension disables the OAuth client (revoking its grants), reinstatement enables it,
 * deletion revokes every key and removes the client — all in the transaction that changes the
 * application, so a half-applied state cannot be observed.
 */
export interface ApplicationStatesDeps extends ApiKeysDeps {
  apiKeys: ApiKeys;
  /** The authorization server's client registry (read lazily: the oauth module builds it). */
  clients: () => OAuthClients;
}

export function createApplicationStates(deps: ApplicationStatesDeps) {
  const { db, access, clock, audit, changes, verifier, apiKeys } = deps;

  /**
   * Write `after` (optimistically, on `before.version`), run `extra` and record the audit entry, in one
   * transaction; then drop the application from this process's verifier cache.
   */
  async function save(
    before: ClientApplication,
    after: ClientApplication,
    change: { actor: Actor; action: string; reason: string | null },
    extra?: (trx: Executor) => Promise<void>,
  ): Promise<void> {
    const { actor, action, reason } = change;
    await db.transaction().execute(async (trx) => {
      if (!(await applications.update(trx, after, before.version))) {
        throw new AppError('preconditionFailed', {
          detail: 'The application changed meanwhile; read it again.',
        });
      }
      await extra?.(trx);
      await audit.record(
        {
          ...auditedBy(actor),
          action,
          target: { type: 'clientApplication', id: after.id },
          reason,
          before: applicationSnapshot(before),
          after: applicationSnapshot(after),
        },
        trx,
      );
      await changes.publish(TOPICS.application, after.id, trx);
    });
    verifier.invalidateApplication(after.id);
  }

  /** The cascades of `before.state` → `to`, inside `trx`. */
  async function cascade(
    trx: Executor,
    before: ClientApplication,
    to: AppState,
    reason: string,
    actor: Actor,
  ) {
    const clients = deps.clients();
    if (to === 'deleted') {
      await apiKeys.revokeAllOf(trx, before.id, `application deleted: ${reason}`, actor);
      await clients.remove(before.clientId, reason, trx);
    }
    if (to === 'suspended') await clients.setEnabled(before.clientId, false, reason, trx);
    if (to === 'active' && before.state === 'suspended')
      await clients.setEnabled(before.clientId, true, reason, trx);
  }

  return {
    save,
    cascade,

    /** Approve, suspend, reinstate (institution) or delete (an organization's owner or admin) an application. */
    async setState(
      applicationId: string,
      to: AppState,
      reason: string,
      actor: Actor,
    ): Promise<ClientApplication> {
      const target = oneOf('state', APP_STATES, to);
      const before = await access.requireApplication(
        actor,
        applicationId,
        target === 'deleted' ? 'manage' : 'read',
      );
      if (target !== 'deleted') access.requireInstitution(actor, `make applications ${target}`);
      assertAppTransition(before.state, target);
      const after: ClientApplication = {
        ...before,
        state: target,
        stateReason: reason,
        version: before.version + 1,
        updatedAt: isoAt(clock.now()),
      };
      const action = STATE_ACTIONS[target](before.state);
      await save(before, after, { actor, action, reason }, (trx) =>
        cascade(trx, before, target, reason, actor),
      );
      await apiKeys.forgetKeysOf(after.id);
      return after;
    },
  };
}
