import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import type { Logger } from '../../http/logger.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import type { AuditLog } from '../audit/index.ts';
import type { UsageEvent } from '../gateway/contract.ts';
import type { Oauth } from '../oauth/index.ts';
import type { AbuseActions } from './abuse-detector.ts';
import { abuseRepository } from './abuse-repository.ts';
import type { AbuseSettings } from './abuse-settings.ts';
import { systemActor } from './access.ts';
import type { ApiKeys } from './api-keys-service.ts';
import { applicationsRepository } from './applications-repository.ts';
import type { ClientApplication } from './model.ts';
import type { Plans } from './plans-service.ts';
import { isPublicKind } from './rules.ts';

/**
 * What abuse detection does (DESIGN.md §5.1): revoke the abusing grant (its tokens answer 401 at once,
 * audited; the user signs in again); suspend a confidential client's key once abuse revoked grants of
 * enough distinct users, or once it is refused too often without user tokens. A public client's key
 * (native, browser: anyone can read it) is never suspended — the institution gets an alert instead.
 */
export function createAbuseActions(deps: {
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  plans: Plans;
  apiKeys: ApiKeys;
  verifier: { markSuspended(keyId: string): void };
  grants: () => Pick<Oauth['grants'], 'revokeGrant'>;
}): AbuseActions {
  const { db, clock, logger, audit, plans, apiKeys, verifier } = deps;

  /** The key's application, unless its plan is exempt (then nothing is done). */
  async function subjectApp(event: UsageEvent, settings: AbuseSettings) {
    const app = await applicationsRepository.find(db, event.applicationId);
    if (!app) return undefined;
    const plan = await plans.byId(app.planId);
    if (plan && (plan.abuseExempt || settings.exemptPlans.includes(plan.name))) return undefined;
    return app;
  }

  /** Suspend the key of a confidential client; alert about a public one. */
  async function stopKey(event: UsageEvent, app: ClientApplication, why: string) {
    if (isPublicKind(app.kind)) {
      logger.warn(
        { applicationId: app.id, apiKeyId: event.keyId },
        'abuse alert: public client not suspended',
      );
      await audit.record({
        actor: { type: 'system' },
        action: 'abuse.alert',
        target: { type: 'clientApplication', id: app.id },
        reason: `${why}; a public client's key is never suspended automatically`,
        after: { apiKeyId: event.keyId },
      });
      return;
    }
    const key = await apiKeys.get(event.keyId, systemActor);
    if (key.state !== 'active') return;
    // Refuse at once in this process; the transaction makes it durable and tells the others.
    verifier.markSuspended(event.keyId);
    logger.warn({ apiKeyId: event.keyId, applicationId: app.id }, 'API key suspended for abuse');
    await apiKeys.suspend(event.keyId, `automatic: ${why}`, systemActor, 'apiKey.autoSuspended');
  }

  return {
    async grantAbused(event, count, settings) {
      const principal = event.principal;
      if (!principal?.grantId || !principal.userId) return;
      const app = await subjectApp(event, settings);
      if (!app) return;
      const { grantId, userId } = principal;
      // Row 6 (another client's token) counts against that token's grant, never against this key.
      const ownToken = principal.clientId === app.clientId;
      const reason = `automatic: ${count} refused answers (403/404/422) to its tokens within 60 s (threshold ${settings.grantRefusalsPerMinute})`;
      const revokedAt = isoAt(clock.now());
      await db.transaction().execute(async (trx) => {
        await deps.grants().revokeGrant(grantId, reason, trx);
        await audit.record(
          {
            actor: { type: 'system' },
            action: 'grant.revokedForAbuse',
            target: { type: 'grant', id: grantId },
            reason,
            after: { userId, clientId: principal.clientId, apiKeyId: event.keyId, refusals: count },
          },
          trx,
        );
        if (ownToken) {
          await abuseRepository.recordRevocation(trx, {
            grantId,
            applicationId: app.id,
            keyId: event.keyId,
            userId,
            revokedAt,
          });
        }
      });
      logger.warn({ applicationId: app.id, apiKeyId: event.keyId, userId }, 'grant revoked for abuse');
      if (!ownToken) return;
      const since = isoAt(clock.now() - settings.revokedGrantsWindowMinutes * 60_000);
      const users = await abuseRepository.distinctUsersSince(db, app.id, since);
      if (users >= settings.revokedGrantsToSuspend) {
        await stopKey(
          event,
          app,
          `abuse revoked grants of ${users} users within ${settings.revokedGrantsWindowMinutes} min (threshold ${settings.revokedGrantsToSuspend})`,
        );
      }
    },

    async keyAbused(event, count, settings) {
      const app = await subjectApp(event, settings);
      if (!app) return;
      await stopKey(
        event,
        app,
        `${count} refused answers without user tokens within 60 s (threshold ${settings.keyRefusalsPerMinute})`,
      );
    },
  };
}
