/**
 * `npm run bench` — the gateway's cost, measured (issue 5 item 8). One Strongroom server (TLS, logging,
 * security headers on) runs in this process pinned to CPU 0; the load generator (autocannon, in its own
 * process) and the small upstream run on CPU 1. Cases:
 *   a0  a bare Fastify HTTPS server returning the same JSON
 *   a   the Strongroom route with an empty security requirement (no key, token or entitlement)
 *   b   the same JSON through the full pipeline: API key + JWT + binding + scope + entitlement + rate limit
 *       + metering
 *   c   b again with 100,000 extra API keys and 1,000,000 extra entitlements in the store
 *   d   upstream mode (full pipeline + proxy) vs a bare Node HTTPS proxy to the same upstream
 * Runs are short and interleaved (a0, a, b, …), repeated; ratios are medians of per-round ratios.
 * Results are printed and written to bench/results/<time>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Fastify from 'fastify';
import pino from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/index.ts';
import { readDemoFile } from '../src/demo/demo-file.ts';
import type { ApiModule } from '../src/modules/gateway/contract.ts';
import { authorizationCodeFlow } from '../test/helpers/oauth-flow.ts';
import { trustCa } from '../test/helpers/test-app.ts';
import { bulkLoad } from './bulk-load.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
/**
 * `--quick` (or BENCH_QUICK=1): every case once, briefly, on a small store — for CI, which runs it to keep
 * the bench working and never asserts speeds. Figures from a quick run are not comparable.
 */
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const setting = (name: string, full: number, quick: number) =>
  Number(process.env[name] ?? (QUICK ? quick : full));
const DURATION = setting('BENCH_DURATION', 5, 1);
/** Seconds of the unmeasured warm-up run before each case (JIT, pools); none in quick mode. */
const WARM_UP = QUICK ? 0 : 2;
const ROUNDS = setting('BENCH_ROUNDS', 3, 1);
const CONNECTIONS = setting('BENCH_CONNECTIONS', 32, 8);
const EXTRA_KEYS = setting('BENCH_KEYS', 100_000, 2_000);
const EXTRA_ENTITLEMENTS = setting('BENCH_ENTITLEMENTS', 1_000_000, 20_000);
/** The authorization server's runs: seconds each, parallel lanes of refresh grants and of sign-ins. */
const AUTH_SECONDS = setting('BENCH_AUTH_SECONDS', 5, 1);
const REFRESH_LANES = setting('BENCH_REFRESH_LANES', 16, 2);
const SIGN_IN_LANES = setting('BENCH_SIGN_IN_LANES', 8, 2);
const ACCOUNT = 'benchAccount1';
/** Comma-separated subset of a0,a,b,c,dp,d,auth to run (default all). */
const CASES = new Set((process.env.BENCH_CASES ?? 'a0,a,b,c,dp,d,auth').split(','));
const PAYLOAD = {
  id: ACCOUNT,
  name: 'Everyday checking',
  type: 'checking',
  accountNumbers: { masked: '*************3210' },
  balance: { value: '1234.56', currency: 'USD' },
  state: 'open',
};

interface Result {
  case: string;
  round: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU time of the server process (all threads) per answered request, µs. */
  cpuPerRequestUs: number;
  /** The server's event-loop delay during the run (ms). */
  loopP99: number;
  loopMax: number;
}

const pin = (cpu: number, pid: number) => {
  try {
    execFileSync('taskset', ['-cp', String(cpu), String(pid)], { stdio: 'ignore' });
  } catch {
    // No taskset (or one CPU): runs unpinned; the ratios are still paired.
  }
};

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One autocannon run in its own process on CPU 1. */
async function load(
  name: string,
  round: number,
  url: string,
  headers: Record<string, string>,
  ca: string,
  seconds = DURATION,
) {
  if (!CASES.has(name) || seconds <= 0) return undefined;
  const args = [
    path.join(ROOT, 'node_modules/autocannon/autocannon.js'),
    '-j',
    '-c',
    String(CONNECTIONS),
    '-d',
    String(seconds),
  ];
  for (const [key, value] of Object.entries(headers)) args.push('-H', `${key}=${value}`);
  args.push(url);
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) pin(1, child.pid);
  // The server runs in this process: its event loop's delay while the load runs.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // CPU per request is what contention from other processes distorts least (throughput suffers first).
  const cpuBefore = process.cpuUsage();
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  await new Promise((resolve) => child.on('exit', resolve));
  loop.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const report = JSON.parse(out.trim().split('\n').pop() ?? '{}');
  if (round === 0) return undefined; // warm-up: JIT and connection pools, not measured
  const result: Result = {
    case: name,
    round,
    requestsPerSecond: Math.round(report.requests?.average ?? 0),
    p50: report.latency?.p50 ?? Number.NaN,
    p99: report.latency?.p99 ?? Number.NaN,
    non2xx: report.non2xx ?? 0,
    errors: report.errors ?? 0,
    cpuPerRequestUs: Math.round((cpu.user + cpu.system) / Math.max(1, report.requests?.total ?? 0)),
    loopP99: Math.round(loop.percentile(99) / 1e4) / 100,
    loopMax: Math.round(loop.max / 1e4) / 100,
  };
  console.log(
    `  ${name.padEnd(4)} round ${round}: ${String(result.requestsPerSecond).padStart(7)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  cpu ${result.cpuPerRequestUs} µs/req  loop p99 ${result.loopP99} max ${result.loopMax} ms${result.non2xx || result.errors ? `  (non-2xx ${result.non2xx}, errors ${result.errors})` : ''}`,
  );
  return result;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

function benchApi(): ApiModule {
  const accountId = { name: 'accountId', in: 'path', required: true, schema: { type: 'string' } };
  const responses = { '200': { description: 'The account.' } };
  return {
    name: 'bench',
    document: {
      openapi: '3.1.0',
      info: { title: 'Benchmark', version: '1.0.0' },
      paths: {
        '/open/{accountId}': {
          get: { operationId: 'open', security: [], parameters: [accountId], responses },
        },
        '/accounts/{accountId}': {
          get: {
            operationId: 'account',
            security: [{ apiKey: [], accessToken: ['banking/read'] }],
            parameters: [accountId],
            'x-strongroom-entitlement': [
              { resource: 'account', in: 'path', name: 'accountId', permission: 'view' },
            ],
            responses,
          },
        },
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'API-Key' },
          accessToken: {
            type: 'oauth2',
            flows: {
              authorizationCode: { authorizationUrl: 'x', tokenUrl: 'y', scopes: { 'banking/read': 'read' } },
            },
          },
        },
      },
    },
    handlers: {
      open: async () => ({ status: 200, body: PAYLOAD }),
      account: async () => ({ status: 200, body: PAYLOAD }),
    },
  };
}

const UPSTREAM_DOCUMENT = `openapi: 3.1.0
info: { title: Bench upstream, version: 1.0.0 }
paths:
  /items/{itemId}:
    get:
      operationId: getItem
      security: [{ apiKey: [], accessToken: [banking/read] }]
      parameters: [{ name: itemId, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
components:
  securitySchemes:
    apiKey: { type: apiKey, in: header, name: API-Key }
    accessToken: { type: oauth2, flows: { authorizationCode: { authorizationUrl: x, tokenUrl: y, scopes: { banking/read: r } } } }
`;

const UPSTREAM_SCRIPT = `
const body = JSON.stringify(${JSON.stringify(PAYLOAD)});
require('node:http').createServer({ keepAliveTimeout: 30000 }, (req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); });
}).listen(Number(process.argv[1]), '127.0.0.1', () => process.send && process.send('ready'));
`;

async function main() {
  pin(0, process.pid);
  const dir = mkdtempSync(path.join(tmpdir(), 'strongroom-bench-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [
    () => rmSync(dir, { recursive: true, force: true }),
  ];
  const results: Result[] = [];
  const push = (result: Result | undefined) => {
    if (result) results.push(result);
  };
  const notes: string[] = [];
  const auth: { refresh?: AuthResult; signIn?: AuthResult } = {};
  try {
    // The small upstream for case d, in its own process on CPU 1.
    const upstreamPort = await freePort();
    const upstream = spawn(process.execPath, ['-e', UPSTREAM_SCRIPT, String(upstreamPort)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    cleanups.push(() => upstream.kill());
    await new Promise((resolve) => upstream.once('message', resolve));
    if (upstream.pid) pin(1, upstream.pid);
    const upstreamFile = path.join(dir, 'bench-upstream.yaml');
    writeFileSync(upstreamFile, UPSTREAM_DOCUMENT);

    const port = await freePort();
    const baseUrl = `https://localhost:${port}`;
    const configResult = loadConfig(
      [
        '--data-dir',
        dir,
        '--port',
        String(port),
        '--public-url',
        baseUrl,
        '--demo',
        '--log-level',
        'info',
        '--api',
        `benchup=${upstreamFile}`,
        '--upstream',
        `benchup=http://127.0.0.1:${upstreamPort}`,
      ],
      {},
    );
    if (!configResult.ok) throw new Error(JSON.stringify(configResult.issues));
    const app = await createApp(configResult.config, {
      logDestination: pino.destination({ dest: '/dev/null', sync: false }),
    });
    cleanups.unshift(() => app.close());
    await app.services.gateway.register(app.http, [benchApi()]);
    await app.listen();
    const demo = await readDemoFile(dir);
    if (!demo?.caCertFile) throw new Error('the demo did not write demo.json');
    const ca = demo.caCertFile;
    await trustCa(ca);
    const loadTest = demo.apps.loadTest;
    const alice = demo.users.find((user) => user.username === 'alice');
    if (!loadTest || !alice) throw new Error('demo.json has no loadTest app or alice');
    await app.services.entitlements.grant({
      subject: alice.id,
      resource: 'account',
      resourceId: ACCOUNT,
      permissions: ['view'],
      relationship: 'owner',
    });

    // a0: bare Fastify over the same TLS certificate.
    const tls = app.tls;
    const bare = Fastify({
      https: tls ? { key: tls.key, cert: tls.cert } : null,
    } as never) as unknown as ReturnType<typeof Fastify>;
    bare.get('/bench/accounts/:accountId', async () => PAYLOAD);
    await bare.listen({ port: 0, host: '127.0.0.1' });
    cleanups.unshift(() => bare.close());
    const barePort = (bare.server.address() as AddressInfo).port;

    // d baseline: a bare Node HTTPS proxy to the same upstream.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const bareProxy = https.createServer(tls ? { key: tls.key, cert: tls.cert } : {}, (req, res) => {
      const forward = http.request(
        {
          host: '127.0.0.1',
          port: upstreamPort,
          method: req.method,
          path: req.url?.replace(/^\/benchup/, ''),
          headers: { accept: 'application/json' },
          agent,
        },
        (upstreamResponse) => {
          res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => bareProxy.listen(0, '127.0.0.1', resolve));
    cleanups.unshift(() => new Promise((resolve) => bareProxy.close(resolve)));
    const proxyPort = (bareProxy.address() as AddressInfo).port;

    const token = async () => {
      try {
        const tokens = await authorizationCodeFlow({
          baseUrl,
          clientId: loadTest.clientId,
          clientSecret: loadTest.clientSecret,
          redirectUri: loadTest.redirectUri,
          username: 'alice',
          password: alice.password,
          scope: 'banking/read',
        });
        return tokens.access_token;
      } catch (error) {
        notes.push(`could not obtain an access token: ${(error as Error).message}`);
        console.log(`! could not obtain an access token (${(error as Error).message}); token cases skipped`);
        return undefined;
      }
    };
    const keyOnly = { 'api-key': loadTest.apiKey };
    const withToken = (t: string) => ({ 'api-key': loadTest.apiKey, authorization: `Bearer ${t}` });
    const local = `https://localhost:${port}`;

    console.log(`Strongroom gateway benchmark: ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} connections`);
    let access = await token();
    await load('a0', 0, `https://localhost:${barePort}/bench/accounts/${ACCOUNT}`, {}, ca, WARM_UP);
    await load('a', 0, `${local}/bench/open/${ACCOUNT}`, keyOnly, ca, WARM_UP);
    if (access) await load('b', 0, `${local}/bench/accounts/${ACCOUNT}`, withToken(access), ca, WARM_UP);
    for (let round = 1; round <= ROUNDS; round++) {
      push(await load('a0', round, `https://localhost:${barePort}/bench/accounts/${ACCOUNT}`, {}, ca));
      push(await load('a', round, `${local}/bench/open/${ACCOUNT}`, keyOnly, ca));
      if (access) push(await load('b', round, `${local}/bench/accounts/${ACCOUNT}`, withToken(access), ca));
    }

    console.log(`Loading ${EXTRA_KEYS} API keys and ${EXTRA_ENTITLEMENTS} entitlements …`);
    const started = Date.now();
    if (CASES.has('c'))
      bulkLoad({
        sqliteFile: path.join(dir, 'strongroom.db'),
        applicationId: loadTest.applicationId,
        keys: EXTRA_KEYS,
        entitlements: EXTRA_ENTITLEMENTS,
        now: new Date().toISOString(),
      });
    console.log(`  loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    access = await token();
    if (access) await load('c', 0, `${local}/bench/accounts/${ACCOUNT}`, withToken(access), ca, WARM_UP);
    for (let round = 1; round <= ROUNDS; round++) {
      push(await load('a', round + ROUNDS, `${local}/bench/open/${ACCOUNT}`, keyOnly, ca));
      if (access) push(await load('c', round, `${local}/bench/accounts/${ACCOUNT}`, withToken(access), ca));
    }
    access = await token();
    await load('dp', 0, `https://localhost:${proxyPort}/benchup/items/${ACCOUNT}`, {}, ca, WARM_UP);
    if (access) await load('d', 0, `${local}/benchup/items/${ACCOUNT}`, withToken(access), ca, WARM_UP);
    for (let round = 1; round <= ROUNDS; round++) {
      push(await load('dp', round, `https://localhost:${proxyPort}/benchup/items/${ACCOUNT}`, {}, ca));
      if (access) push(await load('d', round, `${local}/benchup/items/${ACCOUNT}`, withToken(access), ca));
    }
    if (CASES.has('auth')) {
      const who = {
        baseUrl,
        clientId: loadTest.clientId,
        clientSecret: loadTest.clientSecret ?? '',
        redirectUri: loadTest.redirectUri,
        username: 'alice',
        password: alice.password,
        scope: 'banking/read',
        seconds: AUTH_SECONDS,
      };
      auth.refresh = await authLoad({ ...who, mode: 'refresh', lanes: REFRESH_LANES }, ca);
      auth.signIn = await authLoad({ ...who, mode: 'signIn', lanes: SIGN_IN_LANES }, ca);
    }
  } finally {
    for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => {});
  }

  const of = (name: string) => results.filter((r) => r.case === name);
  const pairedRatio = (num: string, den: string, denOffset = 0) => {
    const ratios = of(num)
      .map((r) => {
        const base = of(den).find((x) => x.round === r.round + denOffset);
        return base ? r.requestsPerSecond / base.requestsPerSecond : Number.NaN;
      })
      .filter(Number.isFinite);
    return ratios.length ? Number(median(ratios).toFixed(3)) : null;
  };
  const summary = (name: string) => {
    const runs = of(name);
    if (!runs.length) return null;
    return {
      requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      cpuPerRequestUs: median(runs.map((r) => r.cpuPerRequestUs)),
      loopP99: Math.max(...runs.map((r) => r.loopP99)),
      loopMax: Math.max(...runs.map((r) => r.loopMax)),
    };
  };
  const cases = Object.fromEntries(['a0', 'a', 'b', 'c', 'dp', 'd'].map((name) => [name, summary(name)]));
  // c runs after the bulk load, b before it: each is compared with the a runs around it, so a machine
  // that got busier in between does not read as a cost of the big store.
  const bOverA = pairedRatio('b', 'a');
  const cOverA = pairedRatio('c', 'a', ROUNDS);
  const strongroom = results.filter((r) => ['a', 'b', 'c', 'd'].includes(r.case));
  const cpu = (name: string) => cases[name]?.cpuPerRequestUs;
  const difference = (x: number | undefined, y: number | undefined) =>
    x !== undefined && y !== undefined ? x - y : null;
  const ratios = {
    'b/a': bOverA,
    'a/a0': pairedRatio('a', 'a0'),
    'c/b': bOverA && cOverA ? Number((cOverA / bOverA).toFixed(3)) : null,
    'b/a0': pairedRatio('b', 'a0'),
    'upstream d / bare proxy': pairedRatio('d', 'dp'),
    'p99 added by the pipeline (ms)':
      cases.b && cases.a ? Number((cases.b.p99 - cases.a.p99).toFixed(2)) : null,
    'event-loop delay p99 under load (ms)': strongroom.length
      ? Math.max(...strongroom.map((r) => r.loopP99))
      : null,
    'event-loop delay max under load (ms)': strongroom.length
      ? Math.max(...strongroom.map((r) => r.loopMax))
      : null,
    'pipeline CPU per request, b − a (µs)': difference(cpu('b'), cpu('a')),
    'plumbing CPU per request, a − a0 (µs)': difference(cpu('a'), cpu('a0')),
    'refresh grants/s per core': auth.refresh?.perCore ?? null,
    'password sign-ins/s per core': auth.signIn?.perCore ?? null,
  };
  console.log('\nMedians (req/s, p50 ms, p99 ms, server CPU µs/request, loop p99/max ms):');
  for (const [name, value] of Object.entries(cases)) {
    if (value)
      console.log(
        `  ${name.padEnd(3)} ${String(value.requestsPerSecond).padStart(7)}  ${value.p50}  ${value.p99}  ${value.cpuPerRequestUs}  ${value.loopP99}/${value.loopMax}`,
      );
  }
  for (const [name, value] of Object.entries(auth)) {
    if (value)
      console.log(
        `  ${name.padEnd(7)} ${value.done} in ${value.seconds} s = ${value.perSecond}/s on ${value.cpuSeconds} CPU-s → ${value.perCore}/s per core${value.errors ? ` (${value.errors} errors: ${value.firstError})` : ''}`,
      );
  }
  console.log('\nRatios (median of paired runs):');
  for (const [name, value] of Object.entries(ratios)) console.log(`  ${name.padEnd(40)} ${value ?? 'n/a'}`);
  console.log(
    'Goals: b/a ≥ 0.85, a/a0 ≥ 0.8, c/b ≥ 0.95, upstream ≥ 0.95, ≤ 1 ms p99 added, loop p99 ≤ 10 ms and max ≤ 50 ms, ≥ 2,000 refresh grants/s per core, ≥ 40 sign-ins/s per core.',
  );
  if (QUICK) console.log('(quick mode: the figures only show that every case runs)');
  const outDir = path.join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, quick: QUICK, cases, auth, ratios, runs: results, notes }, null, 2)}\n`,
  );
  console.log(`\nWrote ${path.relative(ROOT, file)}`);
}

interface AuthResult {
  done: number;
  errors: number;
  firstError?: string;
  seconds: number;
  perSecond: number;
  /** Server CPU seconds (all threads: argon2 runs on the thread pool) spent during the run. */
  cpuSeconds: number;
  /** Completed operations per second of server CPU. */
  perCore: number;
}

/** One run of bench/auth-load.ts on the load CPU; the server's CPU time is measured here. */
async function authLoad(options: Record<string, unknown>, ca: string): Promise<AuthResult | undefined> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bench/auth-load.ts'), JSON.stringify(options)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.pid) pin(1, child.pid);
  let out = '';
  let cpuBefore: NodeJS.CpuUsage | undefined;
  child.stdout.on('data', (chunk) => {
    out += chunk;
    if (!cpuBefore && out.includes('ready\n')) cpuBefore = process.cpuUsage();
  });
  await new Promise((resolve) => child.on('exit', resolve));
  const used = process.cpuUsage(cpuBefore);
  const line = out.trim().split('\n').pop() ?? '';
  if (!cpuBefore || !line.startsWith('{')) {
    console.log(`! ${String(options.mode)} run failed: ${out.slice(-300)}`);
    return undefined;
  }
  const report = JSON.parse(line) as { done: number; errors: number; firstError?: string; seconds: number };
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    ...report,
    seconds: Number(report.seconds.toFixed(2)),
    perSecond: Math.round(report.done / report.seconds),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    perCore: Math.round(report.done / Math.max(cpuSeconds, 0.001)),
  };
}

await main();
process.exit(0);
