import type { DemoSeeder, ModuleContext } from '../module-context.ts';

/**
 * Identity: users, argon2id passwords, roles → scopes, TOTP MFA, lockout.
 * (Scaffold: the identity module fills this in.)
 */
export function createIdentity(_context: ModuleContext) {
  const demoSeeder: DemoSeeder = { name: 'identity', async seed() {} };
  return { demoSeeder };
}

export type Identity = ReturnType<typeof createIdentity>;
