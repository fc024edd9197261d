import type { FastifyInstance } from 'fastify';
import type { ApiModule } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import type { Oauth } from '../oauth/index.ts';
import { createAbuseActions } from './abuse-actions.ts';
import { createAbuseDetector } from './abuse-detector.ts';
import { createAbuseSettings } from './abuse-settings.ts';
import { createAccess } from './access.ts';
import { createApiKeys } from './api-keys-service.ts';
import { applicationsRepository } from './applications-repository.ts';
import { createApplications } from './applications-service.ts';
import { createDemoSeeder } from './demo-seeder.ts';
import { createKeyVerifier } from './key-verifier.ts';
import type { Environment } from './model.ts';
import { createOrganizations } from './organizations-service.ts';
import { createPlans } from './plans-service.ts';
import { createPlatformApis } from './platform-api.ts';
import { registerPortal } from './portal/index.ts';
import type { SandboxPortal } from './portal/sandbox-routes.ts';
import { createPortalSessions } from './portal-sessions-service.ts';
import { createRequests } from './requests-service.ts';
import { createUsageRecorder } from './usage-recorder.ts';
import { createUsageReports } from './usage-reports.ts';

export { ABUSE_COUNTS, ABUSE_SETTING, type AbuseSettings, DEFAULT_ABUSE } from './abuse-settings.ts';
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
export { type PendingChange, requestView } from './requests-service.ts';
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
  const clients = () => {
    if (!deps.oauth.clients) throw new Error('the oauth module provides no client registry');
    return deps.oauth.clients;
  };
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
    apiNames: () => apiCatalog().map((api) => api.name),
    clients,
  });
  let apiCatalog: () => ApiModule[] = () => apis;
  const requests = createRequests({
    db,
    access,
    clock,
    audit,
    changes,
    verifier: keyVerifier,
    apiKeys,
    clients,
  });
  const organizations = createOrganizations({ db, access, clock, audit, baseUrl });
  const abuseSettings = createAbuseSettings({ db, settings, audit });
  const abuse = createAbuseDetector({
    clock,
    logger,
    settings,
    changes,
    shared: context.shared,
    actions: createAbuseActions({
      db,
      clock,
      logger,
      audit,
      plans,
      apiKeys,
      verifier: keyVerifier,
      grants: () => deps.oauth.grants,
    }),
  });
  const usage = createUsageRecorder({ db, clock, logger, observe: abuse.observe });
  const usageReports = createUsageReports({ db, clock, recorder: usage });
  const portalSessions = createPortalSessions({ db, clock });
  const demoSeeder: DemoSeeder = createDemoSeeder({
    db,
    plans,
    organizations,
    applications,
    baseUrl,
    institutionName: context.config.institutionName,
    logger,
  });
  const apis: ApiModule[] = createPlatformApis({ applications, apiKeys, usageReports });
  let sandbox: SandboxPortal | undefined;

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
    /** The institution's queue of scope, production and redirect-URI requests: `list`, `approve`, `reject`. */
    requests,
    /** Rate plans: `list()`, `findByName()`, `set(plan, actor)`. */
    plans,
    /** Usage reports (platform API, CLI) and daily buckets for the portal's charts. */
    usageReports,
    /** Abuse detection thresholds: `get()`, `set(patch, actor)`. */
    abuseSettings,
    /** Abuse detection (per grant, per key); `reloadSettings()` for tests. */
    abuse,
    /** Portal-session persistence for the portal's session helper. */
    portalSessions,
    /** The sandbox institution for `/portal/sandbox` (set by the app once it exists). */
    useSandbox(portalSandbox: SandboxPortal): void {
      sandbox = portalSandbox;
    },
    /** The environment of a client's application; clients of no application (portal, console) are production. */
    async clientEnvironment(clientId: string): Promise<Environment> {
      return (await applicationsRepository.environmentOfClient(db, clientId)) ?? 'production';
    },
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
        sandbox: () => sandbox,
      });
    },
    start(): void {
      usage.start();
      abuse.start();
    },
    async stop(): Promise<void> {
      abuse.stop();
      await usage.stop();
    },
  };
}

export type Developers = ReturnType<typeof createDevelopers>;
