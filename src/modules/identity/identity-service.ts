import type { ModuleContext } from '../module-context.ts';
import { createMfa } from './mfa-service.ts';
import { createRegistrationThrottle } from './registration-throttle.ts';
import { createRoles } from './roles-service.ts';
import { createSignIn } from './sign-in.ts';
import { createUsers } from './users-service.ts';

/**
 * The identity module's services behind one flat surface (what the authorization server, the portal and
 * the CLI call): users (`users-service.ts`), roles → scopes (`roles-service.ts`), password sign-in with
 * lockout (`sign-in.ts`) and TOTP MFA (`mfa-service.ts`).
 */
export function createIdentityService(context: ModuleContext) {
  const { db, clock, audit, changes, shared, sealer, logger, config } = context;
  const roles = createRoles({ db, clock, audit, changes });
  const users = createUsers({ db, clock, audit, changes, roles });
  const signIn = createSignIn({ db, clock, audit, shared, logger, users });
  const mfa = createMfa({ db, clock, audit, sealer, institutionName: config.institutionName });
  const registrations = createRegistrationThrottle({ shared });

  return {
    ensureDefaultRoles: roles.ensureDefaults,
    onCredentialsRevoked: users.onCredentialsRevoked,
    createUser: users.createUser,
    getUser: users.getUser,
    listUsers: users.listUsers,
    isActive: users.isActive,
    environmentOf: users.environmentOf,
    setStatus: users.setStatus,
    unlock: users.unlock,
    setPassword: users.setPassword,
    setRoles: users.setRoles,
    scopesOf: roles.scopesOf,
    listRoles: roles.list,
    getRole: roles.get,
    saveRole: roles.save,
    authenticate: signIn.authenticate,
    addressRetryAfter: signIn.addressRetryAfter,
    countAddressFailure: signIn.countAddressFailure,
    verifyOtp: mfa.verifyOtp,
    attemptOtp: mfa.attemptOtp,
    newTotpEnrolment: mfa.newTotpEnrolment,
    confirmTotp: mfa.confirmTotp,
    setTotpSecret: mfa.setTotpSecret,
    /** Self-registration's per-address count of accounts created. */
    registrations,
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
