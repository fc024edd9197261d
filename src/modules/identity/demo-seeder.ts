import { generateSecret } from 'otplib';
import type { DemoDocument } from '../../demo/demo-file.ts';
import { randomBase62 } from '../../lib/ids.ts';
import type { DemoSeeder } from '../module-context.ts';
import type { IdentityService } from './identity-service.ts';

/** The demo institution's people (DESIGN.md §3 and the common brief). */
const DEMO_USERS = [
  { username: 'alice', persona: 'retail customer', roles: ['customer'], displayName: 'Alice Archer' },
  { username: 'bob', persona: 'retail customer', roles: ['customer'], displayName: 'Bob Baker' },
  { username: 'carol', persona: 'small-business owner', roles: ['customer'], displayName: 'Carol Chen' },
  { username: 'tom', persona: 'teller', roles: ['teller'], displayName: 'Tom Taylor' },
  {
    username: 'dana',
    persona: 'deposit accounts manager',
    roles: ['depositAccountsManager'],
    displayName: 'Dana Diaz',
  },
  { username: 'ivan', persona: 'IT manager', roles: ['itManager'], displayName: 'Ivan Ivanov' },
  { username: 'fiona', persona: 'FI administrator', roles: ['fiAdministrator'], displayName: 'Fiona Fisher' },
] as const;

/** Seeds the demo users with random strong passwords (and TOTP for MFA roles) into demo.json. */
export function createIdentityDemoSeeder(identity: IdentityService): DemoSeeder {
  return {
    name: 'identity',
    async seed(demo: DemoDocument) {
      await identity.ensureDefaultRoles();
      for (const spec of DEMO_USERS) {
        const password = `${randomBase62(20)}`;
        const user = await identity.createUser({
          username: spec.username,
          password,
          roles: [...spec.roles],
          displayName: spec.displayName,
        });
        let totpSecret: string | undefined;
        let recoveryCodes: string[] | undefined;
        if (user.mfaRequired) {
          totpSecret = generateSecret();
          recoveryCodes = await identity.setTotpSecret(user.id, totpSecret);
        }
        demo.users.push({
          id: user.id,
          username: user.username,
          persona: spec.persona,
          password,
          roles: user.roles,
          scopes: [...(await identity.scopesOf(user.id))].sort(),
          entitlements: [],
          ...(totpSecret ? { totpSecret, recoveryCodes } : {}),
        });
      }
    },
  };
}
