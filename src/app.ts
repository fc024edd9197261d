import path from 'node:path';
import type { DestinationStream } from 'pino';
import { BANKING_PROBLEM_TYPES, createBanking } from './banking/index.ts';
import type { Config } from './config/index.ts';
import { migrateToLatest, openStore } from './db/index.ts';
import { type DemoDocument, readDemoFile, writeDemoFile } from './demo/demo-file.ts';
import { createProblemCatalogue } from './errors/index.ts';
import { closeListener, settlesWithin } from './http/bounded-close.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createLogger, type Logger } from './http/logger.ts';
import { createHttpServer, type FastifyInstance } from './http/server.ts';
import { createStaticFiles } from './http/static.ts';
import { loadTlsMaterial, type TlsMaterial } from './http/tls.ts';
import { type Clock, isoAt, systemClock } from './lib/clock.ts';
import { ensurePrivateDir } from './lib/private-files.ts';
import { createSealer } from './lib/sealer.ts';
import { createAuditLog } from './modules/audit/index.ts';
import { createDevelopers } from './modules/developers/index.ts';
import { createEntitlements } from './modules/entitlements/index.ts';
import { createGateway } from './modules/gateway/index.ts';
import { createIdentity } from './modules/identity/index.ts';
import type { DemoSeeder, ModuleContext } from './modules/module-context.ts';
import { createOauth } from './modules/oauth/index.ts';
import { createSandbox } from './modules/sandbox/index.ts';
import {
  createChangeFeed,
  createInstances,
  createReadiness,
  createResilienceSignals,
  createSettings,
  createSharedState,
} from './store/index.ts';
import { loadKek, verifyKek } from './store/kek.ts';
import { registerDemoClient } from './web/demo/index.ts';
import { registerProblemTypePages } from './web/errors/problem-type-pages.ts';

export interface CreateAppOptions {
  /** Domain clock; tests pass a manual clock. */
  clock?: Clock;
  /** Log destination; tests capture lines. */
  logDestination?: DestinationStream;
  logger?: Logger;
  /** Change-feed poll interval (ms). */
  changePollMs?: number;
}

export interface App {
  readonly config: Config;
  readonly context: ModuleContext;
  readonly http: FastifyInstance;
  readonly tls: TlsMaterial | undefined;
  /** Every module's service object, for the CLI and tests. */
  readonly services: AppServices;
  /** Run migrations, seed or refresh the demo (with `--demo`), start background work. Idempotent. */
  prepare(): Promise<void>;
  /** prepare() then listen; resolves to the URL actually bound. */
  listen(): Promise<string>;
  /** Stop accepting, finish in-flight requests (bounded), stop background work, close the store. */
  close(): Promise<void>;
}

/**
 * Build the whole platform from a configuration: store, shared state, every module, the HTTP server.
 * This file is the architecture on one screen: modules are created and registered here by hand, in
 * dependency order.
 */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const logger =
    options.logger ?? createLogger({ level: config.logLevel, destination: options.logDestination });
  ensurePrivateDir(config.dataDir);

  const store = openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
  });
  const db = store.db;
  const signals = createResilienceSignals();
  const changes = createChangeFeed({
    db,
    clock,
    intervalMs: options.changePollMs,
    signals,
    onError: (error) => logger.warn({ err: error }, 'change feed poll failed'),
  });
  const shared = createSharedState(config.redisUrl, clock, { timeoutMs: config.redisTimeoutMs });
  const kek = await loadKek(config, (message) => logger.warn(message));
  const sealer = createSealer(kek.key);
  // Every problem type the app can answer with: the generic ones and each module's own.
  const problems = createProblemCatalogue(BANKING_PROBLEM_TYPES);
  const context: ModuleContext = {
    config,
    clock,
    logger,
    store,
    db,
    changes,
    shared,
    settings: createSettings({ db, clock, changes }),
    signals,
    instances: createInstances({
      db,
      onError: (error) => logger.warn({ err: error }, 'instance heartbeat failed'),
    }),
    sealer,
    audit: createAuditLog({ db, clock }),
    problems,
    baseUrl: config.publicUrl,
  };

  const tls = config.trustProxy.length > 0 ? undefined : await loadTlsMaterial(config, clock);
  const http = await createHttpServer({
    baseUrl: config.publicUrl,
    clock,
    logger,
    problems,
    tls: tls ? { key: tls.key, cert: tls.cert } : undefined,
    trustProxy: config.trustProxy,
  });

  let prepared = false;
  const readiness = createReadiness({ store, changes, shared });
  registerHealthRoutes(http, {
    readiness: async () =>
      prepared ? readiness() : { status: 'unavailable', checks: { startup: 'inProgress' } },
  });
  registerProblemTypePages(http, { baseUrl: config.publicUrl, clock, problems });
  // Static assets of every page (shared CSS, icons, renderer bundles); modules add their own files.
  const staticFiles = createStaticFiles();
  staticFiles.addDirectory('/static', path.join(import.meta.dirname, 'web', 'static'));

  // ---- modules, in dependency order -------------------------------------------------------------
  const identity = createIdentity(context);
  const oauth = await createOauth(context, { identity });
  oauth.register(http);
  const entitlements = createEntitlements(context);
  const developers = createDevelopers(context, { oauth, identity });
  developers.register(http);
  oauth.useClientEnvironment(developers.clientEnvironment);
  const banking = createBanking(context, { entitlements });
  const sandbox = createSandbox(context, { identity, data: banking.sandboxData });
  developers.useSandbox(sandbox);
  // The /demo/ back office is a client of the platform (the `backOffice` app), not part of banking.
  registerDemoClient(http, context);
  // The portal's API reference lists every in-process API.
  developers.useApiCatalog(() => [...developers.apis, ...banking.apis]);
  const gateway = createGateway(context, {
    keys: developers.keyVerifier,
    tokens: oauth.authority,
    entitlements,
    usage: developers.usage,
    subjects: identity,
  });
  // Every API — platform (developers) and banking — goes through the one gateway.
  await gateway.register(http, [...developers.apis, ...banking.apis]);

  const demoSeeders: DemoSeeder[] = [
    identity.demoSeeder,
    oauth.demoSeeder,
    developers.demoSeeder,
    banking.demoSeeder,
    sandbox.demoSeeder,
  ];
  const background = {
    start: [developers.start, banking.start],
    stop: [gateway.stop, banking.stop, developers.stop, oauth.stop],
  };
  const services = { identity, oauth, entitlements, developers, gateway, banking, sandbox };

  staticFiles.register(http);
  // 503s for a failed store or Redis, by cause, for metrics (the gateway reports a stale change log itself).
  http.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 503) return;
    const cause = /^dependencyUnavailable:(store|redis)$/.exec(request.logContext?.refusal ?? '')?.[1];
    if (cause === 'store' || cause === 'redis') signals.serviceUnavailable(cause);
  });

  async function prepare(): Promise<void> {
    if (prepared) return;
    await shared.waitUntilConnected(2000);
    // Seeding runs under the migration lock: of several instances first-starting together on an empty
    // store, exactly one seeds (and writes demo.json); the others find the demo seeded (DESIGN.md §5.2).
    await migrateToLatest(store, config.databaseUrl, {
      thenUnderLock: config.demo ? () => seedOrRefreshDemo(context, demoSeeders, tls) : undefined,
    });
    await verifyKek(db, sealer, kek, clock.now());
    changes.start();
    await context.instances.start();
    // The first read before the first answer: decisions need a fresh change log (DESIGN.md §5.2).
    await changes.pollNow();
    for (const start of background.start) start();
    prepared = true;
  }

  return {
    config,
    context,
    http,
    tls,
    services,
    prepare,
    async listen() {
      await prepare();
      await http.listen({
        port: config.port,
        host: config.host,
        listenTextResolver: (address) =>
          `listening on ${address.replace(/^http:/, tls ? 'https:' : 'http:')}`,
      });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    async close() {
      // In-flight requests get the grace; then their connections close (DESIGN.md §5.2).
      await closeListener(http, config.shutdownGrace * 1000, logger);
      // Then, within a bound of its own: background work stops and metering is flushed (requests answered
      // during the drain included), the change feed, instances and shared state close, and the store closes last.
      const tail = (async () => {
        for (const stop of background.stop)
          await stop().catch((error) => logger.warn({ err: error }, 'stop failed'));
        await changes.stop();
        await context.instances.stop();
        await shared.close();
        await store.close();
      })();
      if (!(await settlesWithin(tail, SHUTDOWN_TAIL_MS)))
        logger.warn('shutdown steps still running; exiting');
      logger.flush?.();
    },
  };
}

/** What the steps after the grace (stops, metering flush, store close) may take together. */
const SHUTDOWN_TAIL_MS = 1500;

export interface AppServices {
  identity: ReturnType<typeof createIdentity>;
  oauth: Awaited<ReturnType<typeof createOauth>>;
  entitlements: ReturnType<typeof createEntitlements>;
  developers: ReturnType<typeof createDevelopers>;
  gateway: ReturnType<typeof createGateway>;
  banking: ReturnType<typeof createBanking>;
  sandbox: ReturnType<typeof createSandbox>;
}

const DEMO_MARKER = 'demo.seededAt';

/**
 * Seed the demo institution into an empty store (once), or, on later starts, rewrite only the URL
 * fields of demo.json (and let modules update demo redirect URIs). demo.json is written before the
 * server reports ready.
 */
async function seedOrRefreshDemo(
  context: ModuleContext,
  seeders: DemoSeeder[],
  tls: TlsMaterial | undefined,
) {
  const { config, settings } = context;
  const urls = {
    baseUrl: config.publicUrl,
    issuer: `${config.publicUrl}/auth`,
    audience: `${config.publicUrl}/`,
    caCertFile: tls?.caFile ?? null,
  };
  const seededAt = await settings.get<string | null>(DEMO_MARKER, null);
  const existing = await readDemoFile(config.dataDir);
  if (seededAt && existing) {
    const demo: DemoDocument = { ...existing, ...urls };
    for (const seeder of seeders) await seeder.refresh?.(demo);
    await writeDemoFile(config.dataDir, demo);
    return;
  }
  if (seededAt && !existing) {
    context.logger.warn(
      'the store holds a demo institution but demo.json is missing; it cannot be rebuilt (secrets are stored hashed)',
    );
    return;
  }
  const demo: DemoDocument = { ...urls, apps: {}, users: [] };
  for (const seeder of seeders) await seeder.seed(demo);
  await settings.set(DEMO_MARKER, isoAt(context.clock.now()));
  await writeDemoFile(config.dataDir, demo);
}
