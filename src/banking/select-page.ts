import { type SelectQueryBuilder, sql } from 'kysely';

/**
 * One page of a collection and the number of all its items (`{ items, start, limit, count }`, DESIGN.md
 * §4): `query` is the filtered collection; `ordered` adds the columns and the order of its rows.
 */
export async function selectPage<DB, TB extends keyof DB, Row>(
  query: SelectQueryBuilder<DB, TB, object>,
  page: { start: number; limit: number },
  ordered: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, Row>,
): Promise<{ rows: Row[]; count: number }> {
  const counted = await query.select(sql<number>`count(*)`.as('count')).executeTakeFirstOrThrow();
  const rows = await ordered(query).limit(page.limit).offset(page.start).execute();
  return { rows: rows as Row[], count: Number((counted as { count: number }).count) };
}
