import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.ts';
import type { Executor } from '../db/index.ts';
import { isoAt } from '../lib/clock.ts';
import type { Sealer } from '../lib/sealer.ts';

/** Where the key-encryption key came from, for messages that tell the operator what to fix. */
export interface Kek {
  key: Buffer;
  /** `STRONGROOM_KEK`, or the path of the generated key file. */
  source: string;
  fromEnvironment: boolean;
}

const ENV = 'STRONGROOM_KEK';
const HOW_TO_SET = `set ${ENV} to a base64-encoded 32-byte key (openssl rand -base64 32), the same on every instance`;

/** A start-up failure whose message is meant for the operator as is. */
export class KekError extends Error {}

/**
 * The key-encryption key: `STRONGROOM_KEK`, or on the embedded SQLite store a key generated once into
 * `<dataDir>/kek` (mode 0600). On PostgreSQL no local key is ever generated: every instance must share
 * one key, and it belongs in a secret store, not beside the data.
 */
export async function loadKek(
  config: Pick<Config, 'kek' | 'dataDir' | 'databaseUrl'>,
  warn: (message: string) => void,
): Promise<Kek> {
  if (config.kek) return { key: Buffer.from(config.kek, 'base64'), source: ENV, fromEnvironment: true };
  const file = path.join(config.dataDir, 'kek');
  if (config.databaseUrl) {
    if (!existsSync(file)) {
      throw new KekError(
        `${ENV} is not set. With PostgreSQL, ${HOW_TO_SET}; no local key is generated, since every ` +
          'instance must use the same key and it belongs outside the data dir.',
      );
    }
    warn(`using the key-encryption key in ${file} beside a PostgreSQL deployment; ${HOW_TO_SET} instead`);
  }
  if (!existsSync(file)) {
    try {
      await writeFile(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  if (key.length !== 32)
    throw new KekError(`${file} does not hold a base64 32-byte key; restore it or ${HOW_TO_SET}`);
  return { key, source: file, fromEnvironment: false };
}

const CHECK_KEY = 'kek.check';
const CHECK_CONTEXT = 'strongroom-kek-check';

/**
 * Fail start-up with a message naming the key when it is not the one the store's secrets were sealed
 * with (instead of AES-GCM's "Unsupported state or unable to authenticate data" from deep inside a
 * module). A check value is sealed while the store holds no sealed secret yet (no signing key: it was
 * never started); a store made before the check existed is never given one, since its first start
 * after an upgrade might be the one with the wrong key. Concurrent first starts keep the first row.
 */
export async function verifyKek(db: Executor, sealer: Sealer, kek: Kek, now: number): Promise<void> {
  let row = await readCheck(db);
  if (!row && !(await db.selectFrom('oauth_keys').select('kid').limit(1).executeTakeFirst())) {
    await writeCheck(db, sealer, now);
    row = await readCheck(db);
  }
  if (!row) return;
  try {
    if (sealer.open(JSON.parse(row.value_json) as string, CHECK_CONTEXT) === CHECK_CONTEXT) return;
  } catch {
    // Not sealed with this key: reported below.
  }
  throw new KekError(
    kek.fromEnvironment
      ? `${ENV} is not the key-encryption key this store's secrets were sealed with. ` +
          `Set ${ENV} to that key (from your secret store or backup).`
      : `The key-encryption key in ${kek.source} is not the one this store's secrets were sealed with. ` +
          `If the store was set up with ${ENV}, set it again; otherwise restore ${kek.source} from a backup.`,
  );
}

function readCheck(db: Executor) {
  return db.selectFrom('settings').select('value_json').where('key', '=', CHECK_KEY).executeTakeFirst();
}

async function writeCheck(db: Executor, sealer: Sealer, now: number) {
  await db
    .insertInto('settings')
    .values({
      key: CHECK_KEY,
      value_json: JSON.stringify(sealer.seal(CHECK_CONTEXT, CHECK_CONTEXT)),
      updated_at: isoAt(now),
    })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
}
