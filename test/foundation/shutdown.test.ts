import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { type CliProcess, freePort, runCli } from '../helpers/cli-process.ts';
import { waitFor } from '../helpers/wait.ts';

const UPSTREAM_DOCUMENT = `openapi: 3.1.0
info: { title: Slow upstream, version: 1.0.0 }
paths:
  /items/{itemId}:
    get:
      operationId: getItem
      security: [{ apiKey: [] }]
      parameters: [{ name: itemId, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
components:
  securitySchemes:
    apiKey: { type: apiKey, in: header, name: API-Key }
`;

const GRACE_SECONDS = 3;

/**
 * Issue 11 item 4 (DESIGN.md §5.2): SIGTERM stops accepting, in-flight requests get at most
 * `--shutdown-grace`, then every connection closes, metering is flushed (requests answered during the
 * drain included), the store closes, and the process exits at most 2 s after the grace — measured on
 * the real CLI with an upstream that never answers.
 */
describe('bounded shutdown of `strongroom start`', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'strongroom-shutdown-'));
  const dataDir = path.join(root, 'data');
  /** Upstream requests held open: `hang` ones never get an answer, `late` ones are answered on demand. */
  const held: { id: string; response: http.ServerResponse }[] = [];
  let upstream: http.Server;
  let cli: CliProcess;
  let port: number;
  let demo: DemoDocument;

  before(async () => {
    upstream = http.createServer((request, response) => {
      held.push({ id: String(request.url?.split('/').pop()), response });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as { port: number }).port;
    const document = path.join(root, 'slow.yaml');
    writeFileSync(document, UPSTREAM_DOCUMENT);
    port = await freePort();
    cli = runCli([
      'start',
      '--demo',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--log-level',
      'warn',
      '--shutdown-grace',
      String(GRACE_SECONDS),
      '--api',
      `slow=${document}`,
      '--upstream',
      `slow=http://127.0.0.1:${upstreamPort}`,
    ]);
    await cli.waitForOutput(/Strongroom is running/);
    demo = JSON.parse(readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as DemoDocument;
  });
  after(async () => {
    cli.kill('SIGKILL');
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  /** GET /slow/items/<id> with the loadTest key; resolves to the status, or the error's code. */
  function call(id: string): Promise<number | string> {
    const ca = readFileSync(String(demo.caCertFile));
    return new Promise((resolve) => {
      const request = https.get(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca,
          path: `/slow/items/${id}`,
          headers: { 'api-key': String(demo.apps.loadTest?.apiKey) },
          agent: false,
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
  }

  test('SIGTERM: in-flight requests get the grace, then connections close, metering is flushed and the process exits ≤ 2 s after the grace', async (t) => {
    const hanging = call('hang');
    const late = call('late');
    await waitFor(() => held.length === 2, { timeoutMs: 10_000, what: 'both requests at the upstream' });

    const sentAt = performance.now();
    cli.kill('SIGTERM');
    await cli.waitForOutput(/shutting down/);
    // Answered during the drain: the client gets it, and it is metered.
    held
      .find((h) => h.id === 'late')
      ?.response.writeHead(200, { 'content-type': 'application/json' })
      .end('{}');
    assert.equal(await late, 200);

    const exit = await cli.exited;
    const seconds = (exit.at - sentAt) / 1000;
    assert.equal(exit.code, 0, cli.stderr());
    assert.ok(
      seconds >= GRACE_SECONDS - 0.5,
      `the in-flight request got the grace (exited after ${seconds} s)`,
    );
    assert.ok(
      seconds <= GRACE_SECONDS + 2,
      `exit ${seconds.toFixed(2)} s after SIGTERM (grace ${GRACE_SECONDS} s)`,
    );
    t.diagnostic(`exit ${seconds.toFixed(2)} s after SIGTERM with --shutdown-grace ${GRACE_SECONDS}`);
    // The request that never got an upstream answer lost its connection instead of holding the process.
    assert.notEqual(await hanging, 200);

    const db = new DatabaseSync(path.join(dataDir, 'strongroom.db'), { readOnly: true });
    try {
      const row = db
        .prepare(
          "select coalesce(sum(count), 0) as n from usage_counters where api = 'slow' and granularity = 'minute' and status = 200",
        )
        .get() as { n: number };
      assert.equal(Number(row.n), 1, 'the request answered during the drain is metered');
    } finally {
      db.close();
    }
  });
});
