import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { type App, type CreateAppOptions, createApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config/index.ts';
import { migrateToLatest, openStore } from '../../src/db/index.ts';
import { type DemoDocument, readDemoFile } from '../../src/demo/demo-file.ts';
import { randomBase62 } from '../../src/lib/ids.ts';

/**
 * The databases every store-backed test runs against: SQLite always, PostgreSQL when
 * `TEST_DATABASE_URL` is set (CI sets it; e.g. postgres://postgres@127.0.0.1:5432/postgres), and Redis
 * with it when `TEST_REDIS_URL` is set.
 */
export type TestDialect = 'sqlite' | 'postgres';

export function testDialects(): TestDialect[] {
  return process.env.TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

export function testRedisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || undefined;
}

/**
 * A fresh PostgreSQL database; `drop()` removes it. Empty by default; with `migrated`, a copy of a
 * template database that already holds every migration (made once per set of migration files, and
 * shared by every test process), which saves each app the migrations' round trips.
 */
export async function createPostgresDatabase(
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `sr_test_${randomBase62(12).toLowerCase()}`;
  const template = options.migrated ? await migratedTemplate(adminUrl) : undefined;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}${template ? ` template ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(adminUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A hash of the migration files: templates are made per set of migrations. */
function migrationsDigest(): string {
  const dir = path.resolve(import.meta.dirname, '../../src/db');
  const hash = createHash('sha256');
  const files = [
    ...readdirSync(path.join(dir, 'migrations')).map((f) => path.join('migrations', f)),
    'migration-helpers.ts',
    'database-time.ts',
  ].sort();
  for (const file of files) hash.update(file).update(readFileSync(path.join(dir, file)));
  return hash.digest('hex');
}

let template: Promise<string> | undefined;

/**
 * The name of a database holding every migration of this checkout, created if missing. Named after a
 * hash of the migration files, so a changed migration gets a new template; made under an advisory lock
 * and published by a rename, so concurrent test processes never copy a half-migrated one.
 */
function migratedTemplate(adminUrl: string): Promise<string> {
  template ??= (async () => {
    const digest = migrationsDigest();
    const name = `sr_template_${digest.slice(0, 16)}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query('select pg_advisory_lock($1)', [Number.parseInt(digest.slice(0, 12), 16)]);
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (!rowCount) {
        const building = `sr_building_${randomBase62(12).toLowerCase()}`;
        await admin.query(`create database ${building}`);
        const store = openStore({ databaseUrl: databaseUrl(adminUrl, building), dataDir: tmpdir() });
        try {
          await migrateToLatest(store, databaseUrl(adminUrl, building));
        } finally {
          await store.close();
        }
        await admin.query(`alter database ${building} rename to ${name}`);
      }
    } finally {
      await admin.end();
    }
    return name;
  })();
  template.catch(() => {
    template = undefined;
  });
  return template;
}

let sqliteTemplate: Promise<string> | undefined;

/**
 * A SQLite database file holding every migration of this checkout (in the system's temporary directory,
 * named after the migration files' hash), built once and published by a rename; new test stores start
 * as a copy of it.
 */
function migratedSqliteFile(): Promise<string> {
  sqliteTemplate ??= (async () => {
    const file = path.join(tmpdir(), `strongroom-template-${migrationsDigest().slice(0, 16)}.db`);
    if (existsSync(file)) return file;
    const building = mkdtempSync(path.join(tmpdir(), 'strongroom-template-'));
    try {
      const store = openStore({ databaseUrl: undefined, dataDir: building });
      try {
        await migrateToLatest(store, undefined);
      } finally {
        await store.close();
      }
      renameSync(path.join(building, 'strongroom.db'), file);
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
    return file;
  })();
  sqliteTemplate.catch(() => {
    sqliteTemplate = undefined;
  });
  return sqliteTemplate;
}

/** The key-encryption key of test apps on PostgreSQL (each test database is its own store). */
export const TEST_KEK = createHash('sha256').update('strongroom test key-encryption key').digest('base64');

/** Captures log lines in memory so tests can assert on them (and on what must never be in them). */
export function createLogCapture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return {
    destination,
    lines,
    text: () => lines.join('\n'),
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export interface TestApp {
  app: App;
  config: Config;
  dataDir: string;
  logs: ReturnType<typeof createLogCapture>;
  dialect: TestDialect;
  close(): Promise<void>;
}

export interface TestAppOptions extends CreateAppOptions {
  dialect?: TestDialect;
  /** Extra CLI-style flags, e.g. ['--demo']. */
  args?: string[];
  /** Use Redis (TEST_REDIS_URL) for shared state. */
  redis?: boolean;
  /** Reuse a data dir / database (e.g. to restart an app). */
  dataDir?: string;
  databaseUrl?: string;
  /** Start listening on an ephemeral port (for real HTTPS clients). Default: inject only. */
  listen?: boolean;
}

/**
 * A whole Strongroom app on a fresh store (temporary data dir; fresh PostgreSQL database for 'postgres'),
 * prepared (migrated, demo seeded with --demo). Use `app.http.inject()` or, with `listen`, real HTTPS.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dialect = options.dialect ?? 'sqlite';
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'strongroom-test-'));
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let databaseUrl = options.databaseUrl;
  if (dialect === 'postgres' && !databaseUrl) {
    database = await createPostgresDatabase({ migrated: true });
    databaseUrl = database.url;
  }
  // A fresh SQLite store starts as a copy of the migrated template (the app's own migration run then
  // finds nothing to do).
  if (dialect === 'sqlite' && !options.dataDir && !databaseUrl)
    copyFileSync(await migratedSqliteFile(), path.join(dataDir, 'strongroom.db'));
  const env: Record<string, string> = {};
  if (databaseUrl) {
    env.DATABASE_URL = databaseUrl;
    // On PostgreSQL the key-encryption key must come from the environment (no local key is generated).
    env.STRONGROOM_KEK = TEST_KEK;
  }
  const redisUrl = options.redis ? testRedisUrl() : undefined;
  if (redisUrl) env.REDIS_URL = redisUrl;
  const configure = (port: number) => {
    const result = loadConfig(
      ['--data-dir', dataDir, '--port', String(port), '--log-level', 'info', ...(options.args ?? [])],
      env,
    );
    if (!result.ok) throw new Error(`test config: ${JSON.stringify(result.issues)}`);
    return result.config;
  };
  const logs = createLogCapture();
  const build = (config: Config) =>
    createApp(config, { changePollMs: 50, ...options, logDestination: logs.destination });
  let config: Config;
  let app: App;
  if (options.listen) {
    // The public URL (issuer, links, redirect URIs) names the port, so pick a free one first. Another
    // process may take it in between: then try again with another.
    for (let attempt = 1; ; attempt++) {
      config = configure(await freePort());
      app = await build(config);
      try {
        await app.listen();
        break;
      } catch (error) {
        await app.close();
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 5) throw error;
      }
    }
  } else {
    config = configure(0);
    app = await build(config);
    await app.prepare();
  }
  return {
    app,
    config,
    dataDir,
    logs,
    dialect,
    async close() {
      await app.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

/** A TCP port nobody listens on right now (on 127.0.0.1). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

/** Make this test process's `fetch` (and openid-client) trust the app's local CA. */
export async function trustCa(caFile: string | undefined): Promise<void> {
  if (!caFile) return;
  const tls = await import('node:tls');
  const { readFileSync } = await import('node:fs');
  const pem = readFileSync(caFile, 'utf8');
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ...certs]);
}

export interface TestServer extends TestApp {
  /** Where the server listens, e.g. `https://localhost:40123`; its local CA is trusted by this process. */
  baseUrl: string;
}

export interface DemoServer extends TestServer {
  /** demo.json as the server wrote it. */
  demo: DemoDocument;
}

/**
 * A listening HTTPS server on a fresh store (see `createTestApp`), whose local CA this process's `fetch`
 * (and openid-client) trusts: for tests that drive it with real clients.
 */
export async function startServer(options: Omit<TestAppOptions, 'listen'> = {}): Promise<TestServer> {
  const t = await createTestApp({ ...options, listen: true });
  await trustCa(t.app.tls?.caFile);
  return { ...t, baseUrl: t.config.publicUrl };
}

/** `startServer` with the demo institution (`--demo`) and its demo.json. */
export async function startDemoServer(options: Omit<TestAppOptions, 'listen'> = {}): Promise<DemoServer> {
  const server = await startServer({ ...options, args: ['--demo', ...(options.args ?? [])] });
  const demo = await readDemoFile(server.dataDir);
  if (!demo) {
    await server.close();
    throw new Error('the demo server wrote no demo.json');
  }
  return { ...server, demo };
}
