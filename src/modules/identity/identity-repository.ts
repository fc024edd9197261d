import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { RolesTable, UsersTable } from '../../db/tables/identity.ts';

type Executor = Kysely<Database> | Transaction<Database>;
export type UserRow = Selectable<UsersTable>;
export type RoleRow = Selectable<RolesTable>;

/** SQL of the identity tables; nothing else writes them. */
export function createIdentityRepository(db: Kysely<Database>) {
  return {
    async insertUser(row: UserRow, executor: Executor = db): Promise<void> {
      await executor.insertInto('users').values(row).execute();
    },
    async findUser(id: string, executor: Executor = db): Promise<UserRow | undefined> {
      return executor.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async findUserByUsername(username: string, executor: Executor = db): Promise<UserRow | undefined> {
      return executor
        .selectFrom('users')
        .selectAll()
        .where('username', '=', username.toLowerCase())
        .executeTakeFirst();
    },
    async updateUser(id: string, patch: Partial<UserRow>, executor: Executor = db): Promise<number> {
      const result = await executor.updateTable('users').set(patch).where('id', '=', id).executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    /** Accept a TOTP step only if it is later than the last one accepted (atomic: once per step). */
    async claimTotpStep(id: string, step: number): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ totp_last_step: step })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listUsers(): Promise<UserRow[]> {
      return db.selectFrom('users').selectAll().orderBy('username').execute();
    },
    async rolesOf(userId: string, executor: Executor = db): Promise<string[]> {
      const rows = await executor
        .selectFrom('user_roles')
        .select('role')
        .where('user_id', '=', userId)
        .orderBy('role')
        .execute();
      return rows.map((r) => r.role);
    },
    async setRoles(userId: string, roles: string[], executor: Executor = db): Promise<void> {
      await executor.deleteFrom('user_roles').where('user_id', '=', userId).execute();
      if (roles.length)
        await executor
          .insertInto('user_roles')
          .values(roles.map((role) => ({ user_id: userId, role })))
          .execute();
    },
    async findRole(name: string, executor: Executor = db): Promise<RoleRow | undefined> {
      return executor.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
    },
    async listRoles(executor: Executor = db): Promise<RoleRow[]> {
      return executor.selectFrom('roles').selectAll().orderBy('name').execute();
    },
    async upsertRole(row: RoleRow, executor: Executor = db): Promise<void> {
      await executor
        .insertInto('roles')
        .values(row)
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({
            category: row.category,
            description: row.description,
            scopes_json: row.scopes_json,
            requires_mfa: row.requires_mfa,
            updated_at: row.updated_at,
          }),
        )
        .execute();
    },
    async recordFailure(id: string, userId: string, at: string): Promise<void> {
      await db.insertInto('login_failures').values({ id, user_id: userId, occurred_at: at }).execute();
    },
    async countFailuresSince(userId: string, since: string): Promise<number> {
      const row = await db
        .selectFrom('login_failures')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('occurred_at', '>=', since)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async clearFailures(userId: string, executor: Executor = db): Promise<void> {
      await executor.deleteFrom('login_failures').where('user_id', '=', userId).execute();
    },
    async replaceRecoveryCodes(userId: string, hashes: string[], executor: Executor = db): Promise<void> {
      await executor.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      if (hashes.length)
        await executor
          .insertInto('recovery_codes')
          .values(hashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null })))
          .execute();
    },
    /** Mark a recovery code used; true only for the one request that used it (atomic). */
    async useRecoveryCode(userId: string, hash: string, at: string): Promise<boolean> {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: at })
        .where('user_id', '=', userId)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

export type IdentityRepository = ReturnType<typeof createIdentityRepository>;
