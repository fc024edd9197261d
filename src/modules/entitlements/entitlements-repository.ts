import type { DialectName, Executor } from '../../db/index.ts';
import type { EntitlementsTable } from '../../db/tables/gateway.ts';

export type EntitlementRow = EntitlementsTable;

/** The only code that reads and writes the `entitlements` table. */
export function createEntitlementsRepository(dialect: DialectName) {
  return {
    /** Every entitlement of one subject (the hot-path load; served by the unique index's prefix). */
    async forSubject(
      ex: Executor,
      subject: string,
    ): Promise<Pick<EntitlementRow, 'resource' | 'resource_id' | 'permissions_json'>[]> {
      return ex
        .selectFrom('entitlements')
        .select(['resource', 'resource_id', 'permissions_json'])
        .where('subject', '=', subject)
        .execute();
    },

    /**
     * The row for (subject, resource, resourceId), locked for the rest of the transaction on PostgreSQL so
     * concurrent merges of permissions serialize. (SQLite transactions are serialized already.)
     */
    async findForUpdate(
      ex: Executor,
      key: { subject: string; resource: string; resourceId: string },
    ): Promise<EntitlementRow | undefined> {
      let query = ex
        .selectFrom('entitlements')
        .selectAll()
        .where('subject', '=', key.subject)
        .where('resource', '=', key.resource)
        .where('resource_id', '=', key.resourceId);
      if (dialect === 'postgres') query = query.forUpdate();
      return query.executeTakeFirst();
    },

    /** Insert unless the (subject, resource, resource_id) row exists; true when inserted. */
    async insertIfAbsent(ex: Executor, row: EntitlementRow): Promise<boolean> {
      const result = await ex
        .insertInto('entitlements')
        .values(row)
        .onConflict((oc) => oc.columns(['subject', 'resource', 'resource_id']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async update(
      ex: Executor,
      id: string,
      patch: Pick<EntitlementRow, 'permissions_json' | 'relationship' | 'updated_at'>,
    ): Promise<void> {
      await ex.updateTable('entitlements').set(patch).where('id', '=', id).execute();
    },

    async delete(ex: Executor, id: string): Promise<void> {
      await ex.deleteFrom('entitlements').where('id', '=', id).execute();
    },

    /** Bulk insert of new rows (seeding, benchmarks); fails on an existing (subject, resource, id). */
    async insertMany(ex: Executor, rows: EntitlementRow[]): Promise<void> {
      // 8 columns per row: stay well below SQLite's 32766 bound parameters per statement.
      const chunk = 1000;
      for (let i = 0; i < rows.length; i += chunk) {
        await ex
          .insertInto('entitlements')
          .values(rows.slice(i, i + chunk))
          .execute();
      }
    },

    async list(
      ex: Executor,
      filter: { subject?: string; resource?: string; resourceId?: string; limit: number },
    ): Promise<EntitlementRow[]> {
      let query = ex.selectFrom('entitlements').selectAll();
      if (filter.subject !== undefined) query = query.where('subject', '=', filter.subject);
      if (filter.resource !== undefined) query = query.where('resource', '=', filter.resource);
      if (filter.resourceId !== undefined) query = query.where('resource_id', '=', filter.resourceId);
      return query
        .orderBy('subject')
        .orderBy('resource')
        .orderBy('resource_id')
        .limit(filter.limit)
        .execute();
    },
  };
}
