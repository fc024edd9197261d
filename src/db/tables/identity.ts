/** Tables owned by the identity module (see the conventions in foundation.ts). */

export interface UsersTable {
  /** `usr_…` */
  id: string;
  /** Unique, compared case-insensitively (stored lower-cased). */
  username: string;
  display_name: string | null;
  email: string | null;
  /** PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
  password_hash: string;
  /** `active` | `disabled` | `locked` (locked until `locked_until`); constrained by migration 007. */
  status: string;
  locked_until: string | null;
  /** 1: MFA required whatever the roles say; 0: follow the roles. */
  mfa_required: number;
  /** TOTP secret (base32), sealed with the KEK; null when not enrolled. */
  totp_secret_sealed: string | null;
  /** Last accepted TOTP time step: a code is accepted once per step. */
  totp_last_step: number | null;
  password_changed_at: string;
  created_at: string;
  updated_at: string;
  /** `production` | `sandbox` (test customers, DESIGN.md §5.4); migration 011, default `production`. */
  environment: string;
}

export interface RolesTable {
  /** e.g. `customer`, `teller`. */
  name: string;
  /** `customer` | `operator` | `system`; constrained by migration 007. */
  category: string;
  description: string;
  /** JSON array of scope names this role grants. */
  scopes_json: string;
  /** 1 when every holder must use MFA (operator and system roles by default). */
  requires_mfa: number;
  updated_at: string;
}

export interface UserRolesTable {
  user_id: string;
  role: string;
}

/** One-time MFA recovery codes, stored as SHA-256 hashes (they are random, high-entropy). */
export interface RecoveryCodesTable {
  user_id: string;
  code_hash: string;
  used_at: string | null;
}

/** Failed sign-in attempts per account, for lockout (10 in 15 minutes by default). */
export interface LoginFailuresTable {
  id: string;
  user_id: string;
  occurred_at: string;
}

/** Wrong second-factor codes per account (MFA lock after 5 in 15 minutes); every attempt is counted first. */
export interface MfaFailuresTable {
  id: string;
  user_id: string;
  occurred_at: string;
}

/** Accounts whose second-factor step is locked, until `locked_until`. */
export interface MfaLocksTable {
  user_id: string;
  locked_until: string;
}

export interface IdentityTables {
  users: UsersTable;
  roles: RolesTable;
  user_roles: UserRolesTable;
  recovery_codes: RecoveryCodesTable;
  login_failures: LoginFailuresTable;
  mfa_failures: MfaFailuresTable;
  mfa_locks: MfaLocksTable;
}
