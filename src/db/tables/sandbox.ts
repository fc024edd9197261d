/** Tables of the sandbox institution (migration 011). */

export interface SandboxCustomersTable {
  /** The sandbox user (`users.environment = 'sandbox'`). */
  user_id: string;
  /** e.g. `retail customer`, as in demo.json. */
  persona: string;
  /** The user's password, sealed with the KEK: the portal shows it to developers (test data, not a secret of anyone). */
  password_sealed: string;
  /** Listing order. */
  position: number;
  created_at: string;
}

export interface SandboxTables {
  sandbox_customers: SandboxCustomersTable;
}
