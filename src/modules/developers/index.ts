import type { FastifyInstance } from 'fastify';
import type { ApiModule } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import type { Oauth } from '../oauth/index.ts';
import { createAbuseSettings } from './abuse-settings.ts';
import { createAccess, systemActor } from './access.ts';
import { createApiKeys } from './api-keys-service.ts';
import { createApplications } from './applications-service.ts';
import { createDemoSeeder } from './demo-seeder.ts';
import { createKeyVerifier } from './key-verifier.ts';
import { createOrganizations } from './organizations-service.ts';
import { createPlans } from './plans-service.ts';
import { createPlatformApis } from './platform-api.ts';
import { registerPortal } from './portal/index.ts';
import { createPortalSessions } from './portal-sessions-service.ts';
import { createUsageRecorder } from './usage-recorder.ts';
import { createUsageReports } from './usage-reports.ts';

export { ABUSE_SETTING, type AbuseSettings, DEFAULT_ABUSE } from './abuse-settings.ts';
export type { Actor } from './access.ts';
export { actorFromScopes, cliActor, systemActor } from './access.ts';
export type { ApiKeyView } from './api-keys-service.ts';
export type { ApplicationPatch, ApplicationView, CreateApplicationInput } from './applications-service.ts';
export {
  ALL_SCOPES,
  APP_KINDS,
  APP_STATES,
  type AppKind,
  type AppState,
  DEFAULT_SCOPES,
  ENVIRONMENTS,
  type Environment,
  KEY_STATES,
  MEMBER_ROLES,
  type MemberRole,
  type PortalSessionRecord,
  type RatePlanRecord,
  USAGE_GRANULARITIES,
  type UsageGranularity,
} from './model.ts';
export type { RatePlanInput } from './plans-service.ts';
export type { UsageItem, UsageReport } from './usage-reports.ts';

/**
 * Developers: organizations, client applications, API keys, rate plans, metering, abuse detection, the
 * platform APIs and the developer portal. Everything the portal, the CLI and tests use is a service
 * below; repositories stay inside the module.
 */
export function createDevelopers(context: ModuleContext, deps: { oauth: Oauth; identity: Identity }) {
  const { db, clock, audit, changes, logger, settings, baseUrl } = context;
  const access = createAccess(db);
  const keyVerifier = createKeyVerifier({ db, clock, changes });
  const plans = createPlans({ db, clock, audit, changes, verifier: keyVerifier });
  const apiKeys = createApiKeys({ db, access, clock, audit, changes, verifier: keyVerifier });
  const applications = createApplications({
    db,
    access,
    clock,
    audit,
    changes,
    verifier: keyVerifier,
    apiKeys,
    plans,
    baseUrl,
    clients: () => {
      if (!deps.oauth.clients) throw new Error('the oauth module provides no client registry');
      return deps.oauth.clients;
    },
  });
  const organizations = createOrganizations({ db, access, clock, audit, baseUrl });
  const abuseSettings = createAbuseSettings({ db, settings, audit });
  const usage = createUsageRecorder({
    db,
    clock,
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
  const usageReports = createUsageReports({ db, clock, recorder: usage });
  const portalSessions = createPortalSessions({ db, clock });
  const demoSeeder: DemoSeeder = createDemoSeeder({
    db,
    plans,
    organizations,
    applications,
    baseUrl,
    logger,
  });
  const apis: ApiModule[] = createPlatformApis({ applications, apiKeys, usageReports });
  let apiCatalog: () => ApiModule[] = () => apis;

  return {
    /** The gateway's API-key verifier and metering port. */
    keyVerifier,
    usage,
    apis,
    demoSeeder,
    // ---- services for the portal, the CLI and tests ----
    access,
    organizations,
    applications,
    apiKeys,
    /** Rate plans: `list()`, `findByName()`, `set(plan, actor)`. */
    plans,
    /** Usage reports (platform API, CLI) and daily buckets for the portal's charts. */
    usageReports,
    /** Abuse auto-suspension thresholds: `get()`, `set(patch, actor)`. */
    abuseSettings,
    /** Portal-session persistence for the portal's session helper. */
    portalSessions,
    /** Every API the gateway serves, for the portal's API reference (set by the app after all modules exist). */
    useApiCatalog(catalog: () => ApiModule[]): void {
      apiCatalog = catalog;
    },
    register(app: FastifyInstance): void {
      registerPortal(app, {
        context,
        access,
        organizations,
        applications,
        apiKeys,
        plans,
        usageReports,
        portalSessions,
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
