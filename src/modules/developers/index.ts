import type { ApiModule, KeyVerifier, UsageRecorder } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import type { Oauth } from '../oauth/index.ts';

/**
 * Developers: organizations, client applications, API keys, metering, abuse detection, the platform APIs
 * and the developer portal. (Scaffold: the developers module fills this in.)
 */
export function createDevelopers(_context: ModuleContext, _deps: { oauth: Oauth; identity: Identity }) {
  const keyVerifier: KeyVerifier = { verify: () => ({ ok: false, reason: 'unknown' }) };
  const usage: UsageRecorder = { record: () => {} };
  const apis: ApiModule[] = [];
  const demoSeeder: DemoSeeder = { name: 'developers', async seed() {} };
  return {
    keyVerifier,
    usage,
    apis,
    demoSeeder,
    register(_app: import('fastify').FastifyInstance): void {},
    start(): void {},
    async stop(): Promise<void> {},
  };
}

export type Developers = ReturnType<typeof createDevelopers>;
