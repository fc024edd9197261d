// Node-only parts of @strongroom/client: token stores backed by files (mode 0600) and the profiles file
// of command-line tools. Import from '@strongroom/client/node'.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StoredSession, TokenStore } from './token-store.ts';

const LOCK_WAIT_MS = 15_000;
/** A lock file older than this was left behind by a process that died while refreshing. */
const STALE_LOCK_MS = 30_000;

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Write a whole file atomically (temporary file + rename), readable by its owner only. */
async function writePrivateJson(file: string, data: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

/** Run `fn` holding `<file>.lock`, which other processes using the same file respect. */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const deadline = performance.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await stat(lock).catch(() => undefined);
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
        await rm(lock, { force: true });
        continue;
      }
      if (performance.now() > deadline) throw new Error(`${lock} is held by another process`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Keeps one session in a JSON file (mode 0600, directory 0700), shared safely between processes. */
export function fileTokenStore(file: string): TokenStore {
  const target = path.resolve(file);
  return {
    load: () => readJson<StoredSession>(target),
    save: (session) => writePrivateJson(target, session),
    clear: () => rm(target, { force: true }),
    lock: (fn) => withFileLock(target, fn),
  };
}

/** A command-line profile: where and as which application to call, and its session. */
export interface Profile {
  baseUrl: string;
  apiKey: string;
  clientId: string;
  redirectUri: string;
  /** Scopes asked for at sign-in, space-separated. */
  scope?: string;
  /** PEM file of an extra CA to trust. */
  caFile?: string;
  session?: StoredSession;
}

interface ProfilesDocument {
  profiles: Record<string, Profile>;
}

/**
 * A profiles file such as the `strongroom` CLI's `profiles.json` (mode 0600): named connection settings,
 * each with its session. Writes are atomic; refreshes hold the file's lock.
 */
export function profilesFile(file: string) {
  const target = path.resolve(file);
  const read = async (): Promise<ProfilesDocument> => {
    const doc = await readJson<ProfilesDocument>(target);
    return { profiles: { ...(doc?.profiles ?? {}) } };
  };
  const update = async (change: (doc: ProfilesDocument) => void): Promise<void> => {
    const doc = await read();
    change(doc);
    await writePrivateJson(target, doc);
  };
  return {
    file: target,
    async get(name: string): Promise<Profile | undefined> {
      return (await read()).profiles[name];
    },
    async names(): Promise<string[]> {
      return Object.keys((await read()).profiles).sort();
    },
    /** Create or replace a profile (its session too, when given). */
    put: (name: string, profile: Profile) =>
      update((doc) => {
        doc.profiles[name] = profile;
      }),
    remove: (name: string) =>
      update((doc) => {
        delete doc.profiles[name];
      }),
    /** The session of one profile as a token store (the profile must exist). */
    tokenStore(name: string): TokenStore {
      const saveSession = (session: StoredSession | undefined) =>
        update((doc) => {
          const profile = doc.profiles[name];
          if (!profile) throw new Error(`there is no profile "${name}"`);
          if (session) profile.session = session;
          else delete profile.session;
        });
      return {
        load: async () => (await read()).profiles[name]?.session,
        save: (session) => saveSession(session),
        clear: () => saveSession(undefined),
        lock: (fn) => withFileLock(target, fn),
      };
    },
  };
}

export type ProfilesFile = ReturnType<typeof profilesFile>;
