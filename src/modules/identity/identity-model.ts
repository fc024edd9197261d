import { AppError } from '../../errors/index.ts';

/** The identity module's domain types; the `as const` lists are also the values migration 007 allows. */

export const ROLE_CATEGORIES = ['customer', 'operator', 'system'] as const;
export type RoleCategory = (typeof ROLE_CATEGORIES)[number];

export const USER_STATUSES = ['active', 'disabled', 'locked'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/**
 * Where a user lives (DESIGN.md §5.4): `sandbox` test customers sign in only through sandbox applications
 * and own only sandbox data; everyone else is `production`. Fixed when the user is created.
 */
export const USER_ENVIRONMENTS = ['production', 'sandbox'] as const;
export type UserEnvironment = (typeof USER_ENVIRONMENTS)[number];

export interface Role {
  name: string;
  category: RoleCategory;
  description: string;
  scopes: string[];
  requiresMfa: boolean;
}

export interface User {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  status: UserStatus;
  environment: UserEnvironment;
  lockedUntil: string | null;
  roles: string[];
  mfaRequired: boolean;
  mfaEnrolled: boolean;
  createdAt: string;
}

export type AuthenticationResult =
  | { ok: true; user: User; mfa: 'none' | 'verify' | 'enroll' }
  | { ok: false; reason: 'invalid' | 'locked' | 'throttled'; retryAfterSeconds?: number };

/** Who changes users and roles, for the audit record (the CLI and the system today). */
export const SYSTEM_ACTOR = { type: 'system' } as const;

/** A 400 naming the body field. */
export function invalid(detail: string, name: string): AppError {
  return new AppError('badRequest', { detail, errors: [{ in: 'body', name, message: detail }] });
}
