import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import type { DemoApp, DemoUser } from '../../src/demo/demo-file.ts';
import { authorizationCodeFlow, decodeJwt } from '../helpers/oauth-flow.ts';
import { type Cluster, type Instance, startCluster } from './cluster.ts';
import { type FaultRun, runFault } from './faults.ts';
import { createFigures } from './figures.ts';
import {
  createHttp,
  describeCounts,
  type Http,
  latency,
  type Outcome,
  runAll,
  startLoad,
  statusCounts,
} from './load.ts';
import { changeLoggedAt, measureRefusal, type Refusal } from './revocation.ts';

/**
 * The scale-out proof (issue 11, DESIGN.md §5.2): three instances on one PostgreSQL database and one Redis
 * behind nginx, measured under a bounded load while credentials are revoked, a shared quota is spent,
 * an instance is killed, and Redis, PostgreSQL and one instance's change-log reads are broken. Run with
 * `npm run test:scale-out` (not part of `npm test`: it needs nginx and redis-server). Prints a table of
 * the figures at the end. `SCALE_OUT_RATE` sets the background load (requests/s, default 150).
 */

/** Bounds of the contract (DESIGN.md §2, §5.2). */
const REVOCATION_BOUND_MS = 1000;
const RECOVERY_BOUND_MS = 5000;
const READINESS_BOUND_MS = 1000;
/** Redis commands have a 250 ms deadline: what a request may take while Redis is away (deadline + work). */
const REDIS_FAULT_LATENCY_MS = 1000;
/** PostgreSQL statements have a 5 s deadline (connect 2 s), plus the work around them. */
const DATABASE_FAULT_LATENCY_MS = 6000;
/** The change log is stale 750 ms after the last good read; one read interval on top. */
const STALE_AFTER_MS = 1000;
/** The change-log gap: longer than the 10 s window the feed used to read (issue 11, failure 1). */
const GAP_MS = Number(process.env.SCALE_OUT_GAP_MS ?? 11_000);
const RATE = Number(process.env.SCALE_OUT_RATE ?? 150);
const DAILY_QUOTA = 300;

/**
 * Scenarios whose §5.2 behaviour is not on this branch yet run as `todo`: measured and reported, not
 * failing the run. Remove an entry when its behaviour lands.
 */
const PENDING: Record<'redis' | 'database' | 'gap', string | undefined> = {
  redis: undefined,
  database: undefined,
  gap: undefined,
};

const figures = createFigures();
let cluster: Cluster;
let http: Http;
/**
 * The revocation polls' own client (another address than the background load's): their refusals feed the
 * per-address failure throttle, which must not throttle the load that shows service goes on.
 */
let polls: Http;
/** Tokens signed in through nginx: alice and bob (retail, `mobile` app), fiona (FI administrator, `backOffice`). */
let alice: { token: string; grantId: string };
let bob: { token: string; user: DemoUser };
let fiona: { token: string };
let fixtures: {
  quotaKey: { id: string; key: string };
  revokeKey: { id: string; key: string };
  gapKey: { id: string; key: string };
};

const demoApp = (name: 'mobile' | 'loadTest' | 'backOffice'): DemoApp => {
  const app = cluster.demo.apps[name];
  assert.ok(app, `demo.json has the ${name} app`);
  return app;
};

/** Sign a demo user in through nginx: the real pages (password, TOTP, consent), PKCE, code exchange. */
async function signIn(username: string, appName: 'mobile' | 'backOffice', scopes: string[]) {
  const user = cluster.demo.users.find((u) => u.username === username);
  assert.ok(user, `demo user ${username}`);
  const app = demoApp(appName);
  const tokens = await authorizationCodeFlow({
    baseUrl: cluster.publicUrl,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: app.redirectUri,
    username,
    password: user.password,
    totpSecret: user.totpSecret,
    scope: ['openid', ...scopes.filter((s) => app.scopes.includes(s))].join(' '),
  });
  return { token: tokens.access_token, user };
}

/** The FI administrator revokes an API key through the platform API, as the console would. */
async function revokeKey(baseUrl: string, keyId: string): Promise<number> {
  const answer = await http.send(`${baseUrl}/apiKeys/apiKeys/${keyId}/deactivate`, {
    method: 'POST',
    headers: { 'api-key': demoApp('backOffice').apiKey, authorization: `Bearer ${fiona.token}` },
  });
  assert.ok(answer.kind === 'answer' && answer.status === 200, `deactivate: ${JSON.stringify(answer)}`);
  return changeLoggedAt(cluster, keyId);
}

const products = (baseUrl: string, apiKey: string, client: Http = http) =>
  client.send(`${baseUrl}/products/products`, { headers: { 'api-key': apiKey } });

/** The background load through nginx: API-key-only calls (loadTest app) and bob's account list. */
const mixedLoad = (i: number) =>
  i % 3 === 2
    ? http.send(`${cluster.publicUrl}/accounts/accounts`, {
        headers: { 'api-key': demoApp('mobile').apiKey, authorization: `Bearer ${bob.token}` },
      })
    : products(cluster.publicUrl, demoApp('loadTest').apiKey);

function loadFigures(scenario: string, outcomes: readonly Outcome[], seconds: number, skipped = 0) {
  figures.add(scenario, 'load answers', describeCounts(statusCounts(outcomes)));
  figures.add(scenario, 'load sent', `${Math.round(outcomes.length / seconds)} req/s (${skipped} held back)`);
  figures.add(
    scenario,
    'load latency p50 / p99 / max',
    `${Math.round(latency(outcomes, 0.5))} / ${Math.round(latency(outcomes, 0.99))} / ${Math.round(latency(outcomes, 1))} ms`,
  );
}

function revocationFigures(scenario: string, refusals: Refusal[]) {
  for (const r of refusals) {
    figures.add(
      scenario,
      `instance ${r.instance}: last request accepted, sent at`,
      r.lastAcceptedSentMs === null ? 'none after the revocation' : `+${r.lastAcceptedSentMs} ms`,
      `≤ +${REVOCATION_BOUND_MS} ms`,
    );
    figures.add(
      scenario,
      `instance ${r.instance}: first refusal answered at`,
      r.firstRefusalMs === null ? 'never' : `+${r.firstRefusalMs} ms`,
    );
    if (r.unavailable > 0)
      figures.add(scenario, `instance ${r.instance}: 503 (stale change log)`, r.unavailable);
  }
}

/**
 * "Refused on every instance within 1 s, or the request gets 503 — never 200" (DESIGN.md §5.2): every
 * request sent more than 1 s after the revocation was refused (and there were such requests), and nothing
 * but 200, the refusal, or 503 + Retry-After (a stale change log) was ever answered.
 */
function assertRefusals(refusals: Refusal[]) {
  for (const r of refusals) {
    assert.ok(r.refusedAfterBound, `instance ${r.instance} did not refuse requests sent after the bound`);
    assert.ok(
      r.lastAcceptedSentMs === null || r.lastAcceptedSentMs <= REVOCATION_BOUND_MS,
      `instance ${r.instance} accepted a request sent ${r.lastAcceptedSentMs} ms after the revocation`,
    );
    assert.deepEqual(
      r.unexpected,
      [],
      `instance ${r.instance} answered something other than 200 or a refusal`,
    );
  }
}

/** A 503 + Retry-After: the instance could not decide (DESIGN.md §5.2), which is never a 200. */
function unavailable(o: Outcome): boolean {
  return o.kind === 'answer' && o.status === 503 && /^\d+$/.test(o.headers['retry-after'] ?? '');
}

/** The background load was served: 200, or 503 + Retry-After while an instance could not decide. */
function assertServed(outcomes: readonly Outcome[]) {
  for (const o of outcomes)
    assert.ok(
      o.kind === 'answer' && (o.status === 200 || unavailable(o)),
      `load answer: ${JSON.stringify(o)}`,
    );
}

/**
 * What an answer may take while a dependency is broken: its deadline plus the work around it, on top of
 * what answers took on this machine just before the fault (p99), so a busy CI machine does not fail the
 * proof while a request that waits on a stalled dependency still does.
 */
function faultLatencyBound(run: FaultRun, deadlineMs: number): number {
  return Math.round(deadlineMs + latency(run.before, 0.99));
}

/** Readiness answers within 1 s (§5.2), plus what it took on this machine just before the fault (p99). */
function readinessBound(run: FaultRun): number {
  const before = run.ready
    .filter((s) => s.sentAt < run.faultAt)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  const p99 = before[Math.min(before.length - 1, Math.floor(0.99 * before.length))] ?? 0;
  return Math.round(READINESS_BOUND_MS + p99);
}

/** The distinct `detail`s of 503 answers, with counts: why instances could not decide. */
function unavailableDetails(outcomes: readonly Outcome[]): string {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.kind !== 'answer' || o.status !== 503) continue;
    let detail = 'no problem body';
    try {
      detail = String((JSON.parse(o.text) as { detail?: string }).detail ?? detail);
    } catch {}
    counts[detail] = (counts[detail] ?? 0) + 1;
  }
  return describeCounts(counts) || 'none';
}

/** Figures and assertions common to every dependency fault. */
function faultFigures(scenario: string, run: FaultRun, deadlineMs: number) {
  figures.add(scenario, 'answers while broken', describeCounts(statusCounts(run.during)));
  figures.add(scenario, '503 details while broken', unavailableDetails(run.during));
  figures.add(scenario, 'answers after the fault ended', describeCounts(statusCounts(run.after)));
  figures.add(
    scenario,
    'slowest answer while broken',
    `${Math.round(latency(run.during, 1))} ms`,
    `≤ ${faultLatencyBound(run, deadlineMs)} ms (${deadlineMs} + p99 before ${Math.round(latency(run.before, 0.99))})`,
  );
  // Probes both sent and answered while the fault held (one answered after the heal saw the healed state).
  const probes = run.ready.filter(
    (s) => s.sentAt >= run.faultAt + STALE_AFTER_MS && s.answeredAt < run.healedAt,
  );
  figures.add(
    scenario,
    'readiness while broken',
    describeCounts(
      Object.fromEntries(
        Object.entries(
          probes.reduce<Record<string, number>>((acc, s) => {
            const key = `${s.status}/${s.state ?? '-'}`;
            acc[key] = (acc[key] ?? 0) + 1;
            return acc;
          }, {}),
        ),
      ),
    ),
  );
  figures.add(
    scenario,
    'slowest readiness answer',
    `${Math.round(Math.max(0, ...probes.map((s) => s.ms)))} ms`,
    `≤ ${readinessBound(run)} ms (1000 + p99 before)`,
  );
  for (const instance of cluster.instances) {
    const back = run.ready.find(
      (s) =>
        s.instance === instance.name && s.sentAt >= run.healedAt && s.status === 200 && s.state === 'ready',
    );
    figures.add(
      scenario,
      `instance ${instance.name} ready again after the fault ended`,
      back ? `${back.answeredAt - run.healedAt} ms` : 'not within the watch',
    );
  }
  figures.add(
    scenario,
    'recovered after the fault ended',
    run.recoveredMs === null ? 'not within the watch' : `${run.recoveredMs} ms`,
    `≤ ${RECOVERY_BOUND_MS} ms`,
  );
  return probes;
}

function assertRecovered(run: FaultRun) {
  assert.notEqual(run.recoveredMs, null, 'the cluster recovered');
  assert.ok((run.recoveredMs as number) <= RECOVERY_BOUND_MS, `recovered after ${run.recoveredMs} ms`);
}

/**
 * A 429 of the per-address pre-authentication throttle (DESIGN.md §1 row 9, policy "failures"): what a client
 * gets once its refused credential has failed often enough — still a refusal, never a 200.
 */
function throttled(o: Outcome): boolean {
  return o.kind === 'answer' && o.status === 429 && /"failures"/.test(o.headers['ratelimit-policy'] ?? '');
}

/** How long nginx may take to stop sending to a killed instance, and its kept-alive upstream connections. */
const NGINX_FAILOVER_MS = 1000;
const NGINX_KEEPALIVE = 32;

describe('scale-out: 3 instances, PostgreSQL, Redis, nginx', { concurrency: false }, () => {
  before(async () => {
    const started = performance.now();
    cluster = await startCluster({ instances: 3 });
    for (const [step, seconds] of Object.entries(cluster.startup))
      figures.add('start', step, `${seconds.toFixed(1)} s`);
    figures.add(
      'start',
      'instances that seeded the demo and wrote demo.json',
      `1 (${cluster.seededBy})`,
      '= 1',
    );
    // This process's fetch (the OAuth pages) trusts the platform's local CA that nginx presents.
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), cluster.caPem]);
    http = createHttp(cluster.caPem);
    polls = createHttp(cluster.caPem);
    const [setup, aliceTokens, bobTokens, fionaTokens] = await Promise.all([
      cluster.fixture('setup.ts', [demoApp('mobile').applicationId, String(DAILY_QUOTA)]),
      signIn('alice', 'mobile', ['banking/read']),
      signIn('bob', 'mobile', ['banking/read', 'banking/write']),
      signIn('fiona', 'backOffice', ['admin/read', 'admin/write', 'admin/full']),
    ]);
    fixtures = JSON.parse(setup) as typeof fixtures;
    alice = { token: aliceTokens.token, grantId: String(decodeJwt(aliceTokens.token).payload.grant_id) };
    bob = bobTokens;
    fiona = fionaTokens;

    figures.add(
      'start',
      'cluster, fixtures and sign-ins',
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  // Every scenario is another client (its own loopback address): one scenario's refusals must not reach the
  // next one through the per-address pre-authentication throttle.
  let scenario = 0;
  beforeEach(() => {
    scenario += 1;
    http.useClientAddress(`127.0.0.${10 + scenario}`);
    polls.useClientAddress(`127.0.1.${10 + scenario}`);
  });

  after(async () => {
    await http?.close();
    await polls?.close();
    await cluster?.close();
    console.log(`\nScale-out figures (3 instances behind nginx, PostgreSQL, Redis):\n${figures.table()}\n`);
  });

  test('a revoked API key is refused by every instance within 1 s, under load', async () => {
    const load = startLoad({ rate: RATE, maxInFlight: 64, send: mixedLoad });
    const refusals = await measureRefusal({
      cluster,
      send: (instance) => products(instance.url, fixtures.revokeKey.key, polls),
      refused: (o) => (o.kind === 'answer' && o.status === 401) || throttled(o),
      unavailable,
      revoke: () => revokeKey(cluster.publicUrl, fixtures.revokeKey.id),
      boundMs: REVOCATION_BOUND_MS,
    });
    const result = await load.stop();
    revocationFigures('key revocation', refusals);
    loadFigures('key revocation', result.outcomes, result.seconds, result.skipped);
    assertRefusals(refusals);
    assertServed(result.outcomes);
  });

  test("a revoked grant's access token is refused by every instance within 1 s, under load", async () => {
    const load = startLoad({ rate: RATE, maxInFlight: 64, send: mixedLoad });
    const refusals = await measureRefusal({
      cluster,
      send: (instance) =>
        polls.send(`${instance.url}/accounts/accounts`, {
          headers: { 'api-key': demoApp('mobile').apiKey, authorization: `Bearer ${alice.token}` },
        }),
      refused: (o) =>
        (o.kind === 'answer' &&
          o.status === 401 &&
          /error="invalid_token"/.test(o.headers['www-authenticate'] ?? '')) ||
        throttled(o),
      unavailable,
      // The app revokes the user's access token (RFC 7009), which ends its whole grant.
      revoke: async () => {
        const answer = await http.send(`${cluster.publicUrl}/auth/oauth2/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: alice.token, client_id: demoApp('mobile').clientId }).toString(),
        });
        assert.ok(answer.kind === 'answer' && answer.status === 200, `revoke: ${JSON.stringify(answer)}`);
        return changeLoggedAt(cluster, alice.grantId);
      },
      boundMs: REVOCATION_BOUND_MS,
    });
    const result = await load.stop();
    revocationFigures('grant revocation', refusals);
    loadFigures('grant revocation', result.outcomes, result.seconds, result.skipped);
    assertRefusals(refusals);
    assertServed(result.outcomes);
  });

  test('the daily quota is shared exactly: N allowed in total across the instances, not 3N', async () => {
    const fallbacks = () =>
      cluster.instances.reduce(
        (n, i) => n + i.proc.output.filter((line) => /fall back to per-instance memory/.test(line)).length,
        0,
      );
    const fallbacksBefore = fallbacks();
    // 3N requests, a third straight to each instance: each alone would allow N.
    const outcomes = await runAll(3 * DAILY_QUOTA, 32, (i) => {
      const instance = cluster.instances[i % cluster.instances.length] as Instance;
      return products(instance.url, fixtures.quotaKey.key);
    });
    const counts = statusCounts(outcomes);
    figures.add('shared quota', `requests (3 × quota ${DAILY_QUOTA}, round-robin)`, describeCounts(counts));
    figures.add('shared quota', 'allowed in total', counts['200'] ?? 0, `= ${DAILY_QUOTA}`);
    // An instance whose Redis command missed its deadline decides alone for a while (⌈quota ÷ 3⌉).
    figures.add('shared quota', 'Redis fallbacks logged meanwhile', fallbacks() - fallbacksBefore, '0');
    assert.equal(counts['200'], DAILY_QUOTA);
    // The rest are refused: 429, or 503 where an instance's change log was momentarily stale.
    for (const o of outcomes) {
      if (o.kind === 'answer' && o.status === 200) continue;
      assert.ok(o.kind === 'answer' && (o.status === 429 || o.status === 503), JSON.stringify(o));
      assert.match(o.headers['retry-after'] ?? '', /^\d+$/);
    }
  });

  test('a change-log gap on one instance (SIGSTOP, revoke, SIGCONT): the revoked key is never 200 there', {
    todo: PENDING.gap,
  }, async () => {
    const paused = cluster.instances[2] as Instance;
    const others = cluster.instances.filter((i) => i !== paused);
    // Its cache holds the key's "valid" verdict.
    for (let i = 0; i < 3; i++) {
      const warm = await products(paused.url, fixtures.gapKey.key);
      assert.ok(warm.kind === 'answer' && warm.status === 200, 'the key works before the gap');
    }
    const pausedAt = performance.now();
    cluster.pause(paused);
    try {
      await revokeKey((others[0] as Instance).url, fixtures.gapKey.id);
      for (const instance of others) {
        const answer = await products(instance.url, fixtures.gapKey.key);
        assert.ok(
          answer.kind === 'answer' && answer.status === 401,
          `instance ${instance.name} refuses the key`,
        );
      }
      await sleep(Math.max(0, GAP_MS - (performance.now() - pausedAt)));
      // Requests that reach the frozen process wait in its accept queue and are the first it sees on waking.
      const queued = Array.from({ length: 10 }, () => products(paused.url, fixtures.gapKey.key));
      await sleep(200);
      cluster.resume(paused);
      const resumedAt = Date.now();
      const later: Outcome[] = [];
      while (Date.now() - resumedAt < 2000) {
        later.push(await products(paused.url, fixtures.gapKey.key));
        await sleep(20);
      }
      const all = [...(await Promise.all(queued)), ...later];
      const firstRefusal = later.find((o) => o.kind === 'answer' && o.status === 401);
      figures.add(
        'change-log gap',
        'paused instance frozen for',
        `${Math.round(performance.now() - pausedAt - 2000)} ms`,
        `> 10 s window`,
      );
      figures.add(
        'change-log gap',
        'answers to the revoked key after waking',
        describeCounts(statusCounts(all)),
        'never 200',
      );
      figures.add(
        'change-log gap',
        'first 401 after waking',
        firstRefusal ? `${firstRefusal.answeredAt - resumedAt} ms` : 'never',
        `≤ ${REVOCATION_BOUND_MS} ms`,
      );
      assert.equal(statusCounts(all)['200'], undefined, 'the revoked key was never accepted');
      for (const o of all)
        assert.ok(
          (o.kind === 'answer' && (o.status === 401 || o.status === 503)) || throttled(o),
          JSON.stringify(o),
        );
      assert.ok(
        firstRefusal && firstRefusal.answeredAt - resumedAt <= REVOCATION_BOUND_MS,
        'refused within 1 s',
      );
    } finally {
      cluster.resume(paused);
    }
  });

  test('Redis stopped: answers within the deadline, readiness degraded, recovered ≤ 5 s after it is back', {
    todo: PENDING.redis,
  }, async () => {
    const run = await runFault({
      cluster,
      http,
      send: mixedLoad,
      rate: RATE,
      inject: () => cluster.redis.stop(),
      heal: () => cluster.redis.start(),
      holdMs: 3000,
    });
    assertRedisFault('Redis stopped', run);
  });

  test('Redis frozen (SIGSTOP): answers within the deadline, readiness degraded, recovered ≤ 5 s after SIGCONT', {
    todo: PENDING.redis,
  }, async () => {
    const run = await runFault({
      cluster,
      http,
      send: mixedLoad,
      rate: RATE,
      inject: () => cluster.redis.pause(),
      heal: () => cluster.redis.resume(),
      holdMs: 3000,
    });
    assertRedisFault('Redis frozen', run);
  });

  test('PostgreSQL stalled (its link frozen): 503 + Retry-After within the deadlines, readiness 503, recovered ≤ 5 s', {
    todo: PENDING.database,
  }, async () => {
    const run = await runFault({
      cluster,
      http,
      send: mixedLoad,
      rate: RATE,
      inject: () => cluster.database.pause(),
      heal: () => cluster.database.resume(),
      holdMs: 6000,
      watchMs: 15_000,
    });
    const probes = faultFigures('PostgreSQL stalled', run, DATABASE_FAULT_LATENCY_MS);
    const bound = faultLatencyBound(run, DATABASE_FAULT_LATENCY_MS);
    const staleAnswers = run.during.filter((o) => o.sentAt >= run.faultAt + STALE_AFTER_MS);
    figures.add(
      'PostgreSQL stalled',
      'answers sent ≥ 1 s into the stall',
      describeCounts(statusCounts(staleAnswers)),
      'all 503',
    );
    for (const o of run.during) {
      assert.ok(
        o.kind === 'answer',
        `no answer: ${o.kind === 'error' ? o.error : ''} after ${Math.round(o.ms)} ms`,
      );
      assert.ok(o.ms <= bound, `an answer took ${Math.round(o.ms)} ms (bound ${bound} ms)`);
      assert.ok(o.status === 200 || o.status === 503, `answered ${o.status}`);
      if (o.status === 503) assert.match(o.headers['retry-after'] ?? '', /^\d+$/);
    }
    for (const o of staleAnswers)
      assert.ok(o.kind === 'answer' && o.status === 503, 'no verdict from a stale cache');
    const readyBound = readinessBound(run);
    for (const s of probes) {
      assert.equal(s.status, 503, `instance ${s.instance} readiness while the database is stalled`);
      assert.ok(s.ms <= readyBound, `readiness took ${Math.round(s.ms)} ms (bound ${readyBound} ms)`);
    }
    assertRecovered(run);
  });

  test('kill -9 of an instance mid-load: every accepted transfer is stored exactly once; only in-flight requests fail', async () => {
    const [source, target] = transferAccounts(bob.user);
    const run = randomUUID().slice(0, 8);
    const start = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const post = (seq: number) =>
      http.send(`${cluster.publicUrl}/transfers/scheduledTransfers`, {
        method: 'POST',
        headers: {
          'api-key': demoApp('mobile').apiKey,
          authorization: `Bearer ${bob.token}`,
          'content-type': 'application/json',
          'idempotency-key': `scale-${run}-${seq}`,
        },
        body: JSON.stringify({
          sourceAccount: { id: source },
          targetAccount: { id: target },
          amount: { value: '0.01', currency: 'USD' },
          schedule: { start, frequency: 'once' },
          memo: `scale-${run}-${seq}`,
        }),
      });
    const victim = cluster.instances[1] as Instance;
    const outcomes = new Map<number, Outcome>();
    const load = startLoad({
      rate: 60,
      maxInFlight: 32,
      send: async (seq) => {
        const outcome = await post(seq);
        outcomes.set(seq, outcome);
        return outcome;
      },
    });
    await sleep(1500);
    const inFlightAtKill = load.inFlight();
    const killAt = Date.now();
    await cluster.kill(victim);
    await sleep(2500);
    const result = await load.stop();
    const accepted = new Map<number, string>();
    const failed: number[] = [];
    // 503 + Retry-After is an instance refusing to decide (a stale change log on a busy machine), not a
    // request lost to the kill; it is retried like the others but counted apart.
    let refused503 = 0;
    // Requests sent just after the kill that nginx had already handed to the dead instance (on a kept-alive
    // upstream connection it learns is dead only by writing to it; a non-idempotent POST is not retried by
    // nginx) are in flight there too. Once nginx has seen the failure (≤ 1 s), nothing may fail.
    let dispatchedToDead = 0;
    let lateFailures = 0;
    for (const [seq, o] of outcomes) {
      if (o.kind === 'answer' && o.status === 201)
        accepted.set(seq, (JSON.parse(o.text) as { id: string }).id);
      else {
        failed.push(seq);
        if (unavailable(o)) refused503++;
        else if (o.sentAt >= killAt + NGINX_FAILOVER_MS) lateFailures++;
        else if (o.sentAt >= killAt) dispatchedToDead++;
      }
    }
    // The client's side of "only in-flight requests fail": it retries them with the same Idempotency-Key,
    // and each is then stored once, whether or not the killed instance had committed the first attempt.
    const retried = new Map<number, Outcome>();
    for (const seq of failed) retried.set(seq, await post(seq));
    const rows = await cluster.query<{ id: string; memo: string }>(
      'select id, memo from banking_transfers where memo like $1',
      [`scale-${run}-%`],
    );
    const rowsBySeq = new Map<number, string[]>();
    for (const row of rows) {
      const seq = Number(row.memo.split('-').at(-1));
      rowsBySeq.set(seq, [...(rowsBySeq.get(seq) ?? []), row.id]);
    }
    const lost = [...accepted].filter(([seq, id]) => rowsBySeq.get(seq)?.join() !== id);
    const retriedOnce = [...retried].filter(([seq, o]) => {
      if (o.kind !== 'answer' || o.status !== 201) return false;
      return rowsBySeq.get(seq)?.join() === (JSON.parse(o.text) as { id: string }).id;
    });
    loadFigures('kill -9', result.outcomes, result.seconds, result.skipped);
    figures.add('kill -9', 'requests in flight at the kill', inFlightAtKill);
    figures.add(
      'kill -9',
      'failed requests (besides 503 + Retry-After)',
      `${failed.length - refused503} (+${refused503} × 503): ${dispatchedToDead} sent in the second after the kill, ${lateFailures} later`,
      `≤ in flight (${inFlightAtKill}) + nginx's kept-alive connections to it (≤ ${NGINX_KEEPALIVE}); 0 later`,
    );
    figures.add(
      'kill -9',
      'accepted (201) transfers stored exactly once',
      `${accepted.size - lost.length}/${accepted.size}`,
      'all',
    );
    figures.add(
      'kill -9',
      'failed ones retried (same Idempotency-Key)',
      describeCounts(statusCounts([...retried.values()])),
    );
    figures.add(
      'kill -9',
      'retried transfers stored exactly once',
      `${retriedOnce.length}/${failed.length}`,
      'all',
    );
    assert.ok(accepted.size > 0, 'transfers were accepted');
    assert.deepEqual(lost, [], 'every accepted transfer is stored exactly once');
    assert.equal(lateFailures, 0, `${lateFailures} requests sent after nginx's failover failed`);
    assert.ok(
      failed.length - refused503 - dispatchedToDead <= inFlightAtKill,
      `${failed.length - refused503} requests failed (besides ${refused503} × 503), ${inFlightAtKill} were in flight`,
    );
    assert.ok(dispatchedToDead <= NGINX_KEEPALIVE, `${dispatchedToDead} sent after the kill failed`);
    assert.equal(retriedOnce.length, failed.length, 'each retried transfer is stored exactly once');
    assert.equal(rows.length, accepted.size + failed.length, 'no other transfer was stored');
  });
});

/**
 * Redis away (DESIGN.md §5.2): requests go on with per-instance fallback limiters — answers are 200/429
 * (503 + Retry-After only where an instance's change log went stale, and never most of them), none waits
 * beyond the Redis deadline; readiness says `degraded` with `redis: down` on every instance (or
 * `unavailable` with a stale change log, never `ready`); everything is back within 5 s.
 */
function assertRedisFault(scenario: string, run: FaultRun) {
  const probes = faultFigures(scenario, run, REDIS_FAULT_LATENCY_MS);
  const bound = faultLatencyBound(run, REDIS_FAULT_LATENCY_MS);
  for (const o of run.during) {
    assert.ok(
      o.kind === 'answer',
      `no answer: ${o.kind === 'error' ? o.error : ''} after ${Math.round(o.ms)} ms`,
    );
    assert.ok(o.status === 200 || o.status === 429 || unavailable(o), `answered ${o.status}`);
    assert.ok(o.ms <= bound, `an answer took ${Math.round(o.ms)} ms (bound ${bound} ms)`);
  }
  const served = run.during.filter((o) => o.kind === 'answer' && o.status === 200).length;
  assert.ok(served > run.during.length / 2, `only ${served} of ${run.during.length} answers were 200`);
  const readyBound = readinessBound(run);
  for (const s of probes) {
    const degraded = s.status === 200 && s.state === 'degraded' && s.checks?.redis === 'down';
    const stale = s.status === 503 && s.checks?.changeLog === 'stale';
    assert.ok(
      degraded || stale,
      `instance ${s.instance} readiness while Redis is away: ${JSON.stringify(s)}`,
    );
    assert.ok(s.ms <= readyBound, `readiness took ${Math.round(s.ms)} ms (bound ${readyBound} ms)`);
  }
  for (const instance of cluster.instances)
    assert.ok(
      probes.some((s) => s.instance === instance.name && s.state === 'degraded'),
      `instance ${instance.name} reported degraded`,
    );
  assertRecovered(run);
}

/** Bob's two accounts: one he may transfer from, another he may transfer to. */
function transferAccounts(user: DemoUser): [string, string] {
  const from = user.entitlements.find(
    (e) => e.resource === 'account' && e.permissions.includes('transferFrom'),
  );
  const to = user.entitlements.find(
    (e) => e.resource === 'account' && e.id !== from?.id && e.permissions.includes('transferTo'),
  );
  assert.ok(from && to, `${user.username} has two accounts to transfer between`);
  return [from.id, to.id];
}
