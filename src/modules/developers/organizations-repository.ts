import type { Executor } from '../../db/index.ts';
import type { Member, MemberRole, Organization } from './model.ts';

const toOrganization = (row: { id: string; name: string; created_at: string; updated_at: string }) => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** SQL of organizations and their members. Member roles are constrained by the schema (migration 007). */
export const organizationsRepository = {
  async insert(ex: Executor, org: Organization & { createdBy: string | null }): Promise<void> {
    await ex
      .insertInto('organizations')
      .values({
        id: org.id,
        name: org.name,
        created_by: org.createdBy,
        created_at: org.createdAt,
        updated_at: org.updatedAt,
      })
      .execute();
  },

  async find(ex: Executor, id: string): Promise<Organization | undefined> {
    const row = await ex.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toOrganization(row);
  },

  async findByName(ex: Executor, name: string): Promise<Organization | undefined> {
    const row = await ex.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toOrganization(row);
  },

  /** The organizations with these ids (or all), by name. */
  async list(ex: Executor, ids: readonly string[] | '*'): Promise<Organization[]> {
    let query = ex.selectFrom('organizations').selectAll().orderBy('name');
    if (ids !== '*') {
      if (ids.length === 0) return [];
      query = query.where('id', 'in', [...ids]);
    }
    return (await query.execute()).map(toOrganization);
  },

  /** Add a member, or change the role of an existing one. */
  async upsertMember(ex: Executor, member: Member): Promise<void> {
    await ex
      .insertInto('organization_members')
      .values({
        organization_id: member.organizationId,
        user_id: member.userId,
        display_name: member.displayName,
        role: member.role,
        created_at: member.createdAt,
      })
      .onConflict((oc) => oc.columns(['organization_id', 'user_id']).doUpdateSet({ role: member.role }))
      .execute();
  },

  /**
   * Touch the organization (its `updated_at`) inside a transaction: on PostgreSQL this locks its row, so
   * concurrent member changes of one organization serialize (SQLite transactions are serialized already).
   */
  async lock(ex: Executor, id: string, at: string): Promise<void> {
    await ex.updateTable('organizations').set({ updated_at: at }).where('id', '=', id).execute();
  },

  async setMemberRole(ex: Executor, organizationId: string, userId: string, role: MemberRole): Promise<void> {
    await ex
      .updateTable('organization_members')
      .set({ role })
      .where('organization_id', '=', organizationId)
      .where('user_id', '=', userId)
      .execute();
  },

  async deleteMember(ex: Executor, organizationId: string, userId: string): Promise<void> {
    await ex
      .deleteFrom('organization_members')
      .where('organization_id', '=', organizationId)
      .where('user_id', '=', userId)
      .execute();
  },

  async listMembers(ex: Executor, organizationId: string): Promise<Member[]> {
    const rows = await ex
      .selectFrom('organization_members')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('created_at')
      .execute();
    return rows.map((row) => ({
      organizationId: row.organization_id,
      userId: row.user_id,
      displayName: row.display_name,
      role: row.role as MemberRole,
      createdAt: row.created_at,
    }));
  },

  /** The user's role in each organization they belong to. */
  async membershipsOf(ex: Executor, userId: string): Promise<Map<string, MemberRole>> {
    const rows = await ex
      .selectFrom('organization_members')
      .select(['organization_id', 'role'])
      .where('user_id', '=', userId)
      .execute();
    return new Map(rows.map((row) => [row.organization_id, row.role as MemberRole]));
  },
};
