import type { FastifyInstance } from 'fastify';
import type { TokenAuthority } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import { createClients } from './clients-service.ts';
import { createGrants } from './grants-service.ts';

export type { OAuthClientInfo, OAuthClientSpec, OAuthClients, TokenEndpointAuthMethod } from './contract.ts';

/**
 * The authorization server (oidc-provider at /auth), its storage adapter, signing keys, denylist,
 * lifetimes and the login/MFA/consent pages. (Scaffold: the oauth module fills this in.)
 */
export async function createOauth(context: ModuleContext, _deps: { identity: Identity }) {
  const grants = createGrants(context);
  const clients = createClients(context, { grants });
  const authority: TokenAuthority = {
    issuer: `${context.baseUrl}/auth`,
    audience: `${context.baseUrl}/`,
    jwks: async () => ({ keys: [] }),
    onKeysChanged: () => () => {},
    isRevoked: (token) => grants.isRevoked(token),
  };
  const demoSeeder: DemoSeeder = { name: 'oauth', async seed() {} };
  return {
    authority,
    clients,
    grants,
    demoSeeder,
    register(_app: FastifyInstance): void {},
    async stop(): Promise<void> {},
  };
}

export type Oauth = Awaited<ReturnType<typeof createOauth>>;
