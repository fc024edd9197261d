import type { ModuleContext } from '../module-context.ts';
import { createIdentityDemoSeeder } from './demo-seeder.ts';
import { createIdentityService } from './identity-service.ts';

export {
  type AuthenticationResult,
  ROLE_CATEGORIES,
  type Role,
  type RoleCategory,
  USER_ENVIRONMENTS,
  USER_STATUSES,
  type User,
  type UserEnvironment,
  type UserStatus,
} from './identity-model.ts';
export { MFA_LIMITS, type OtpAttempt } from './mfa-service.ts';
export { REGISTRATION_LIMITS } from './registration-throttle.ts';
export { DEFAULT_ROLES } from './roles-service.ts';
export {
  API_SCOPE_NAMES,
  API_SCOPES,
  type ApiScope,
  DEFAULT_SCOPES,
  describeScope,
  expandScopes,
  isApiScope,
} from './scopes.ts';
export { SIGN_IN_LIMITS } from './sign-in.ts';
export { newUserProblems } from './users-service.ts';

/**
 * Identity: users, argon2id passwords, roles → scopes, TOTP MFA with recovery codes, lockout and
 * throttling. The authorization server signs users in through it.
 */
export function createIdentity(context: ModuleContext) {
  const service = createIdentityService(context);
  const demoSeeder = createIdentityDemoSeeder(service);
  return Object.assign(service, { demoSeeder });
}

export type Identity = ReturnType<typeof createIdentity>;
