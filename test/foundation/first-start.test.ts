/**
 * DESIGN.md §5.2: several instances first-starting together with `--demo` on an empty database migrate and
 * seed exactly once; the seeding instance writes demo.json, the others start normally. Three real
 * `strongroom start` processes on one fresh PostgreSQL database. Runs when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { createPostgresDatabase } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('instances first-starting together', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
}, () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  let database: { url: string; drop: () => Promise<void> } | undefined;

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(
      children.map((child) =>
        child.exitCode === null && child.signalCode === null
          ? new Promise((resolve) => child.once('exit', resolve))
          : undefined,
      ),
    );
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  });

  test('three instances with --demo on an empty database: one seeds and writes demo.json, all serve', async () => {
    database = await createPostgresDatabase();
    const kek = randomBytes(32).toString('base64');
    const instances = await Promise.all(
      [0, 1, 2].map(async () => {
        const dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-first-start-'));
        dirs.push(dataDir);
        return { dataDir, port: await freePort(), output: { text: '' } };
      }),
    );
    for (const instance of instances) {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'bin/strongroom.js'),
          'start',
          '--demo',
          '--port',
          String(instance.port),
          '--data-dir',
          instance.dataDir,
          '--trust-proxy',
          '127.0.0.1',
          '--public-url',
          `https://localhost:${instance.port}`,
          '--log-level',
          'warn',
        ],
        {
          env: { ...process.env, DATABASE_URL: database.url, STRONGROOM_KEK: kek, REDIS_URL: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.on('data', (chunk) => {
        instance.output.text += chunk;
      });
      child.stderr?.on('data', (chunk) => {
        instance.output.text += chunk;
      });
      children.push(child);
    }

    for (const [i, instance] of instances.entries()) {
      await waitFor(
        async () => {
          if (children[i]?.exitCode !== null)
            assert.fail(`instance ${i} exited (${children[i]?.exitCode}): ${instance.output.text}`);
          const res = await fetch(`http://127.0.0.1:${instance.port}/health/ready`).catch(() => undefined);
          return res?.status === 200;
        },
        { what: `instance ${i} to be ready`, timeoutMs: 90_000, intervalMs: 200 },
      );
    }

    const written = instances.filter((instance) => existsSync(path.join(instance.dataDir, 'demo.json')));
    assert.equal(written.length, 1, 'exactly one instance wrote demo.json');
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query("select count(*)::int as n from users where username = 'alice'");
      assert.equal(rows[0].n, 1, 'the demo was seeded once');
    } finally {
      await client.end();
    }
    for (const [i, instance] of instances.entries()) {
      assert.equal(children[i]?.exitCode, null, `instance ${i} is still running`);
      assert.doesNotMatch(instance.output.text, /username is taken/i);
    }
  });
});
