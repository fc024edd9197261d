import type { FastifyInstance } from 'fastify';
import { isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { ApiModule } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import type { Oauth } from '../oauth/index.ts';
import { type Actor, cliActor, createAccess, systemActor } from './access.ts';
import { createApiKeys } from './api-keys-service.ts';
import { createApplications } from './applications-service.ts';
import { createDemoSeeder } from './demo-seeder.ts';
import { createDevelopersRepository } from './developers-repository.ts';
import { createKeyVerifier, TOPICS } from './key-verifier.ts';
import type { RatePlanRecord } from './model.ts';
import { createOrganizations } from './organizations-service.ts';
import { createPlatformApis } from './platform-api.ts';
import { createPortalStore, registerPortal } from './portal/index.ts';
import { createUsageRecorder } from './usage-recorder.ts';

export type { Actor } from './access.ts';
export { cliActor, systemActor } from './access.ts';
export { ABUSE_SETTING, DEFAULT_ABUSE } from './usage-recorder.ts';

/**
 * Developers: organizations, client applications, API keys, metering, abuse detection, the platform APIs
 * and the developer portal.
 */
export function createDevelopers(context: ModuleContext, deps: { oauth: Oauth; identity: Identity }) {
  const { db, clock, audit, changes, logger, settings, baseUrl } = context;
  const repo = createDevelopersRepository(db);
  const access = createAccess(repo);
  const keyVerifier = createKeyVerifier({ repo, clock, changes });
  const apiKeys = createApiKeys({ repo, access, clock, audit, changes, verifier: keyVerifier });
  const applications = createApplications({
    repo,
    access,
    clock,
    audit,
    changes,
    verifier: keyVerifier,
    apiKeys,
    clients: () => {
      if (!deps.oauth.clients) throw new Error('the oauth module provides no client registry');
      return deps.oauth.clients;
    },
  });
  const organizations = createOrganizations({ repo, access, clock, audit, baseUrl });
  const usage = createUsageRecorder({
    repo,
    logger,
    settings,
    changes,
    shared: context.shared,
    async onAbuse(event, count, limits, kind) {
      // Refuse at once in this process; the transaction below makes it durable and tells the others.
      keyVerifier.markSuspended(event.keyId);
      const reason =
        kind === 'refusals'
          ? `automatic: ${count} refused answers (401/403/404) within ${limits.windowSeconds} s (threshold ${limits.maxRefusals})`
          : `automatic: ${count} rate-limited answers (429) within ${limits.windowSeconds} s (threshold ${limits.maxRateLimited})`;
      logger.warn(
        { apiKeyId: event.keyId, applicationId: event.applicationId, count, kind },
        'API key suspended for abuse',
      );
      await apiKeys.suspend(event.keyId, reason, systemActor, 'apiKey.autoSuspended');
    },
  });
  const demoSeeder: DemoSeeder = createDemoSeeder({ repo, organizations, applications, baseUrl, logger });
  const apis: ApiModule[] = createPlatformApis({ applications, apiKeys, repo, usage });
  let apiCatalog: () => ApiModule[] = () => apis;

  return {
    keyVerifier,
    usage,
    apis,
    demoSeeder,
    /** Services for the CLI, the portal and tests. */
    repo,
    access,
    organizations,
    applications,
    apiKeys,
    topics: TOPICS,
    /** Create or change a rate plan (institution); running gateways pick it up through the change feed. */
    async setPlan(plan: Omit<RatePlanRecord, 'id'>, actor: Actor = cliActor): Promise<RatePlanRecord> {
      const existing = await repo.findPlanByName(plan.name);
      const record: RatePlanRecord = { ...plan, id: existing?.id ?? newId('plan') };
      await db.transaction().execute(async (trx) => {
        await repo.upsertPlan(record, isoAt(clock.now()), trx);
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: existing ? 'ratePlan.updated' : 'ratePlan.created',
            target: { type: 'ratePlan', id: record.id },
            before: existing,
            after: record,
            requestId: actor.requestId,
          },
          trx,
        );
        await changes.publish(TOPICS.ratePlan, record.id, trx);
      });
      keyVerifier.invalidateAll();
      return record;
    },
    /** Every API the gateway serves, for the portal's API reference (set by the app after all modules exist). */
    useApiCatalog(catalog: () => ApiModule[]): void {
      apiCatalog = catalog;
    },
    register(app: FastifyInstance): void {
      registerPortal(app, {
        context,
        store: createPortalStore({ repo, identity: deps.identity, clock }),
        access,
        organizations,
        applications,
        apiKeys,
        usage,
        identity: deps.identity,
        tokenAuthority: deps.oauth.authority,
        apiCatalog: () => apiCatalog(),
      });
    },
    start(): void {
      usage.start();
    },
    async stop(): Promise<void> {
      await usage.stop();
    },
  };
}

export type Developers = ReturnType<typeof createDevelopers>;
