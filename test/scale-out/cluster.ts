import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { renderNginxConfig } from '../../scripts/scale-out/nginx-config.ts';
import { type DemoDocument, readDemoFile } from '../../src/demo/demo-file.ts';
import { loadTlsMaterial } from '../../src/http/tls.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { randomBase62 } from '../../src/lib/ids.ts';
import { freePort, type Proc, run, signal, startProcess, stopProcess, waitForOutput } from './processes.ts';

/**
 * The deployment under test: N `strongroom start` processes on one fresh PostgreSQL database and one
 * Redis of their own, behind nginx (TLS at nginx, `--trust-proxy` on the instances). Every dependency
 * the faults act on belongs to this cluster: its own redis-server, and a TCP relay process in front of
 * the machine's PostgreSQL (stalled with SIGSTOP), so the machine's shared services are never touched.
 */
export interface Instance {
  readonly name: string;
  readonly port: number;
  /** Plain HTTP straight to this instance (bypassing nginx), to poll each instance on its own. */
  readonly url: string;
  readonly dataDir: string;
  proc: Proc;
}

export interface Cluster {
  /** The public URL: nginx, TLS with the platform's own local CA. */
  readonly publicUrl: string;
  readonly caPem: string;
  readonly caFile: string;
  readonly instances: readonly Instance[];
  readonly demo: DemoDocument;
  /** The one instance that seeded the demo and wrote demo.json. */
  readonly seededBy: string;
  /** Direct (not through the relay) connection string of the cluster's database, for the proof's checks. */
  readonly databaseUrl: string;
  readonly redis: Service;
  /** The link between the instances and PostgreSQL. */
  readonly database: Service;
  /** Seconds each step of the start took, for the figures. */
  readonly startup: Record<string, number>;
  /** `kill -9` an instance (returns once it is gone). */
  kill(instance: Instance): Promise<void>;
  pause(instance: Instance): void;
  resume(instance: Instance): void;
  /** Start a stopped or killed instance again on its port and data dir; resolves when it is ready. */
  restart(instance: Instance): Promise<void>;
  /** `strongroom <args> --json` run beside the servers, as an operator would; resolves to its parsed output. */
  cli(args: readonly string[]): Promise<unknown>;
  /** Run a fixture script under test/scale-out/fixtures with the cluster's environment. */
  fixture(script: string, args: readonly string[]): Promise<string>;
  query<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A dependency the proof can stop (and start again) or freeze (SIGSTOP) and thaw. */
export interface Service {
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
}

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'strongroom.js');
const NODE = process.execPath;
const READY_TIMEOUT_MS = 90_000;

export async function startCluster(options: { instances?: number } = {}): Promise<Cluster> {
  const count = options.instances ?? 3;
  const startup: Record<string, number> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await fn();
    startup[name] = (performance.now() - started) / 1000;
    return value;
  };
  const root = mkdtempSync(path.join(tmpdir(), 'strongroom-scale-out-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(root, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    // ---- PostgreSQL: a fresh, empty database (the instances migrate it), reached through a relay ----
    const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
    const dbName = `sr_scaleout_${randomBase62(10).toLowerCase()}`;
    await adminQuery(adminUrl, `create database ${dbName}`);
    cleanups.push(() => adminQuery(adminUrl, `drop database if exists ${dbName} with (force)`));
    const admin = new URL(adminUrl);
    const databaseUrl = withPath(adminUrl, dbName);
    const relayPort = await freePort();
    const relayArgs = [
      path.join(import.meta.dirname, 'fixtures', 'tcp-proxy.ts'),
      String(relayPort),
      admin.hostname,
      admin.port || '5432',
    ];
    let relay = startProcess('postgres-relay', NODE, relayArgs);
    cleanups.push(() => stopProcess(relay));
    await waitForOutput(relay, /^listening/, 20_000);
    const relayed = new URL(databaseUrl);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(relayPort);
    const database: Service = {
      pause: () => signal(relay, 'SIGSTOP'),
      resume: () => signal(relay, 'SIGCONT'),
      stop: () => stopProcess(relay),
      async start() {
        relay = startProcess('postgres-relay', NODE, relayArgs);
        await waitForOutput(relay, /^listening/, 20_000);
      },
    };

    // ---- Redis: our own server (never the machine's), no persistence, as the issue measured ----------
    const redisPort = await freePort();
    const redisArgs = [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    let redisProc = startProcess('redis', 'redis-server', redisArgs);
    cleanups.push(() => stopProcess(redisProc));
    await waitForOutput(redisProc, /Ready to accept connections/, 20_000);
    const redis: Service = {
      pause: () => signal(redisProc, 'SIGSTOP'),
      resume: () => signal(redisProc, 'SIGCONT'),
      stop: () => stopProcess(redisProc),
      async start() {
        redisProc = startProcess('redis', 'redis-server', redisArgs);
        await waitForOutput(redisProc, /Ready to accept connections/, 20_000);
      },
    };

    // ---- nginx: TLS with the platform's own local CA and certificate for localhost ---------------------
    const nginxDir = path.join(root, 'nginx');
    mkdirSync(nginxDir, { recursive: true });
    // nginx started as root runs its workers as `nobody`; they only need to reach their temp dirs.
    chmodSync(root, 0o755);
    chmodSync(nginxDir, 0o755);
    const tls = await loadTlsMaterial(
      { dataDir: nginxDir, tlsCert: undefined, tlsKey: undefined },
      systemClock,
    );
    if (!tls.caFile) throw new Error('no local CA was generated');
    const caFile = tls.caFile;
    const caPem = readFileSync(caFile, 'utf8');
    const nginxPort = await freePort();
    const publicUrl = `https://localhost:${nginxPort}`;
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    writeFileSync(
      path.join(nginxDir, 'strongroom.conf'),
      renderNginxConfig({
        listen: `127.0.0.1:${nginxPort}`,
        serverName: 'localhost',
        certificate: path.join(nginxDir, 'tls', 'server.pem'),
        certificateKey: path.join(nginxDir, 'tls', 'server-key.pem'),
        upstreams: ports.map((port) => `127.0.0.1:${port}`),
      }),
    );
    writeFileSync(path.join(nginxDir, 'nginx.conf'), mainNginxConfig(nginxDir));
    const nginx = startProcess('nginx', '/usr/sbin/nginx', [
      '-p',
      nginxDir,
      '-c',
      path.join(nginxDir, 'nginx.conf'),
      '-e',
      path.join(nginxDir, 'error.log'),
      '-g',
      'daemon off;',
    ]);
    cleanups.push(() => stopProcess(nginx));

    // ---- the instances ----------------------------------------------------------------------------------
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (name.startsWith('STRONGROOM_') || name === 'DATABASE_URL' || name === 'REDIS_URL') continue;
      env[name] = value;
    }
    env.DATABASE_URL = relayed.toString();
    env.REDIS_URL = `redis://127.0.0.1:${redisPort}`;
    // One key-encryption key for every process (it never goes on a command line).
    env.STRONGROOM_KEK = randomBytes(32).toString('base64');
    const flags = (instance: { port: number; dataDir: string }) => [
      '--host',
      '127.0.0.1',
      '--port',
      String(instance.port),
      '--data-dir',
      instance.dataDir,
      '--public-url',
      publicUrl,
      '--trust-proxy',
      '127.0.0.1',
      '--log-level',
      'warn',
    ];
    const instances: Instance[] = ports.map((port, i) => {
      const name = String.fromCharCode(65 + i);
      return {
        name,
        port,
        url: `http://127.0.0.1:${port}`,
        dataDir: path.join(root, `instance-${name}`),
        proc: undefined as unknown as Proc,
      };
    });
    const launch = (instance: Instance, demo: boolean) => {
      instance.proc = startProcess(
        `instance ${instance.name}`,
        NODE,
        [BIN, 'start', ...flags(instance), ...(demo ? ['--demo'] : [])],
        { env },
      );
    };
    cleanups.push(async () => {
      await Promise.all(
        instances.map((instance) => (instance.proc ? stopProcess(instance.proc, 12_000) : undefined)),
      );
    });
    // All start at once with --demo on the empty database (DESIGN.md §5.2): they migrate it under the
    // migration lock, exactly one seeds the demo institution and writes demo.json, the others join it.
    await step('instances ready (migrate + seed)', async () => {
      for (const instance of instances) launch(instance, true);
      await Promise.all(instances.map((instance) => waitReady(instance)));
    });
    const written = [];
    for (const instance of instances) {
      const demo = await readDemoFile(instance.dataDir);
      if (demo) written.push({ instance, demo });
    }
    if (written.length !== 1)
      throw new Error(`expected exactly one instance to write demo.json, got ${written.length}`);
    const { demo, instance: seeder } = written[0] as { demo: DemoDocument; instance: Instance };
    const cliDir = path.join(root, 'cli');
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    cleanups.push(() => pool.end());
    return {
      publicUrl,
      caPem,
      caFile,
      instances,
      demo,
      seededBy: seeder.name,
      databaseUrl,
      redis,
      database,
      startup,
      async kill(instance) {
        signal(instance.proc, 'SIGKILL');
        await instance.proc.exited;
      },
      pause: (instance) => signal(instance.proc, 'SIGSTOP'),
      resume: (instance) => signal(instance.proc, 'SIGCONT'),
      async restart(instance) {
        await stopProcess(instance.proc);
        launch(instance, false);
        await waitReady(instance);
      },
      async cli(args) {
        const result = await run(NODE, [BIN, ...args, '--json', ...flags({ port: 0, dataDir: cliDir })], {
          env: { ...env, DATABASE_URL: databaseUrl },
        });
        if (result.code !== 0)
          throw new Error(`strongroom ${args.join(' ')}: ${result.code} ${result.stderr}`);
        return JSON.parse(result.stdout) as unknown;
      },
      async fixture(script, args) {
        const result = await run(
          NODE,
          [
            path.join(import.meta.dirname, 'fixtures', script),
            ...flags({ port: 0, dataDir: cliDir }),
            '--',
            ...args,
          ],
          { env: { ...env, DATABASE_URL: databaseUrl } },
        );
        if (result.code !== 0) throw new Error(`${script}: ${result.code} ${result.stderr}`);
        return result.stdout;
      },
      async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
        return (await pool.query<T>(text, values)).rows;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Waits until the instance's `/health/ready` answers 200 (its store is migrated and reachable). */
export async function waitReady(instance: Instance, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!instance.proc.isRunning())
      throw new Error(`instance ${instance.name} exited:\n${instance.proc.output.slice(-30).join('\n')}`);
    const status = await fetch(`${instance.url}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (performance.now() > deadline)
      throw new Error(
        `instance ${instance.name} not ready after ${timeoutMs} ms:\n${instance.proc.output.join('\n')}`,
      );
    await sleep(100);
  }
}

/** The main nginx.conf of the proof's own nginx process: everything in `dir`, the template included. */
function mainNginxConfig(dir: string): string {
  return [
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
      (name) => `    ${name}_temp_path ${dir}/${name}_temp;`,
    ),
    `    include ${dir}/strongroom.conf;`,
    '}',
    '',
  ].join('\n');
}

function withPath(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
