import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import type { DemoDocument } from '../../demo/demo-file.ts';
import type { Logger } from '../../http/logger.ts';
import type { DemoSeeder } from '../module-context.ts';
import { systemActor } from './access.ts';
import { applicationsRepository } from './applications-repository.ts';
import type { Applications, CreateApplicationInput } from './applications-service.ts';
import { ALL_SCOPES } from './model.ts';
import { organizationsRepository } from './organizations-repository.ts';
import type { Organizations } from './organizations-service.ts';
import type { Plans } from './plans-service.ts';

const DEMO_ORGANIZATION = 'Fintech Labs';
type DemoAppName = 'backOffice' | 'mobile' | 'loadTest';
/** First-party apps belong to the institution's own organization (DESIGN.md §5.1); the rest to the fintech. */
const INSTITUTION_APPS: readonly DemoAppName[] = ['backOffice'];
const BANKING_AND_PROFILE = ALL_SCOPES.filter((s) => s.startsWith('banking/') || s.startsWith('profile/'));

/**
 * The demo institution's own organization with its first-party `backOffice` app, and the fintech
 * organization with `mobile` and `loadTest` — all production and active (DESIGN.md §3, §5.1).
 */
export function createDemoSeeder(deps: {
  db: Kysely<Database>;
  plans: Plans;
  organizations: Organizations;
  applications: Applications;
  baseUrl: string;
  /** The institution's name: its own organization is named after it. */
  institutionName: string;
  logger: Logger;
}): DemoSeeder {
  const { db, plans, organizations, applications, baseUrl, institutionName, logger } = deps;

  const specs = (): Record<DemoAppName, Omit<CreateApplicationInput, 'organizationId'>> => ({
    backOffice: {
      name: 'backOffice',
      description: 'The institution back office (demo).',
      kind: 'web',
      redirectUris: [`${baseUrl}/demo/callback`],
      tokenEndpointAuthMethod: 'client_secret_basic',
      scopes: [...ALL_SCOPES],
      firstParty: true,
      environment: 'production',
      state: 'active',
      ratePlan: 'standard',
    },
    mobile: {
      name: 'mobile',
      description: 'Fintech Labs mobile app (demo).',
      kind: 'native',
      redirectUris: ['http://127.0.0.1:8765/callback'],
      scopes: BANKING_AND_PROFILE,
      environment: 'production',
      state: 'active',
      ratePlan: 'standard',
    },
    loadTest: {
      name: 'loadTest',
      description: 'Load tests and benchmarks (demo; exempt from abuse suspension).',
      kind: 'web',
      redirectUris: [`${baseUrl}/demo/loadtest-callback`],
      tokenEndpointAuthMethod: 'client_secret_basic',
      scopes: BANKING_AND_PROFILE,
      environment: 'production',
      state: 'active',
      ratePlan: 'loadTest',
    },
  });

  return {
    name: 'developers',
    async seed(demo: DemoDocument) {
      await plans.set(
        { name: 'standard', perSecond: 100, burst: 200, perDay: 1_000_000, abuseExempt: false },
        systemActor,
      );
      await plans.set(
        {
          name: 'loadTest',
          perSecond: 1_000_000,
          burst: 2_000_000,
          perDay: 1_000_000_000_000,
          abuseExempt: true,
        },
        systemActor,
      );
      const ivan = demo.users.find((u) => u.username === 'ivan');
      if (!ivan) logger.warn('demo: user ivan not found; Fintech Labs is created without an owner');
      const org = await organizations.create(
        {
          name: DEMO_ORGANIZATION,
          owner: ivan ? { userId: ivan.id, displayName: ivan.username } : undefined,
        },
        systemActor,
      );
      // No members: only the FI administrator (admin/full) sees the institution's own applications.
      const institution = await organizations.create({ name: institutionName }, systemActor);
      for (const [name, spec] of Object.entries(specs())) {
        const owner = INSTITUTION_APPS.includes(name as DemoAppName) ? institution : org;
        const created = await applications.create({ ...spec, organizationId: owner.id }, systemActor);
        if (!created.apiKey) throw new Error(`demo: no key was issued for ${name}`);
        demo.apps[name] = {
          applicationId: created.application.id,
          clientId: created.application.clientId,
          ...(created.clientSecret ? { clientSecret: created.clientSecret } : {}),
          apiKeyId: created.apiKey.id,
          apiKey: created.apiKey.key,
          redirectUri: created.application.redirectUris[0] ?? '',
          tokenEndpointAuthMethod: created.application.tokenEndpointAuthMethod as
            | 'client_secret_basic'
            | 'none',
          scopes: created.application.scopes,
        };
      }
    },

    async refresh(demo: DemoDocument) {
      const org = await organizationsRepository.findByName(db, DEMO_ORGANIZATION);
      if (!org) return;
      const institution = await organizationsRepository.findByName(db, institutionName);
      for (const [name, spec] of Object.entries(specs())) {
        const app =
          (institution && (await applicationsRepository.findByName(db, institution.id, name))) ||
          (await applicationsRepository.findByName(db, org.id, name));
        if (!app) continue;
        const redirectUris = spec.redirectUris ?? [];
        if (JSON.stringify(app.redirectUris) !== JSON.stringify(redirectUris)) {
          await applications.update(app.id, { redirectUris }, systemActor);
        }
        const entry = demo.apps[name];
        if (entry) entry.redirectUri = redirectUris[0] ?? entry.redirectUri;
      }
    },
  };
}
