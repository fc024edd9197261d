import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { App } from '../../src/app.ts';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import type { Actor } from '../../src/modules/developers/index.ts';

/** Every row of every table, as one string: to prove no plaintext secret is stored anywhere. */
export async function dumpDatabase(app: App): Promise<string> {
  const { db } = app.context;
  const tables =
    app.context.store.dialect === 'sqlite'
      ? (
          await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)
        ).rows.map((r) => r.name)
      : (
          await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(
            db,
          )
        ).rows.map((r) => r.name);
  const parts: string[] = [];
  for (const table of tables) {
    const rows = (await sql`select * from ${sql.table(table)}`.execute(db)).rows;
    parts.push(`${table}: ${JSON.stringify(rows)}`);
  }
  return parts.join('\n');
}

export function readDemo(dataDir: string): DemoDocument {
  return JSON.parse(readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as DemoDocument;
}

/** A portal user (developer role: admin/read admin/write) acting through the services. */
export function userActor(userId: string, institution = false): Actor {
  return { type: 'user', id: userId, institution };
}
