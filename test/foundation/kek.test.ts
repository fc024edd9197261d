import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort, runCli, runCliToEnd } from '../helpers/cli-process.ts';
import { createPostgresDatabase } from '../helpers/test-app.ts';

/** The banner's last line with --demo: where demo.json is, or that this data dir has none. */
const DEMO_FILE_LINE = /Passwords, keys and client secrets are in|was not written here/;

/** Issue 11 item 7: a wrong or missing key-encryption key is reported by name, with how to set it. */
describe('the key-encryption key at start-up', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'strongroom-kek-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = path.join(root, 'data');
  const kek = randomBytes(32).toString('base64');

  /** Start, wait until it serves, stop; returns stdout. */
  async function startAndStop(env: Record<string, string>, args: string[] = [], last = /curl --cacert/) {
    const port = await freePort();
    const cli = runCli(
      ['start', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn', ...args],
      env,
    );
    try {
      await cli.waitForOutput(/Strongroom is running/);
      await cli.waitForOutput(last);
    } finally {
      cli.kill('SIGTERM');
      await cli.exited;
    }
    return cli.stdout();
  }

  async function startFails(env: Record<string, string>) {
    const port = await freePort();
    const result = await runCliToEnd(['start', '--data-dir', dataDir, '--port', String(port)], env);
    assert.equal(result.code, 1, result.stdout);
    assert.doesNotMatch(result.stderr, /Unsupported state|unable to authenticate/);
    return result.stderr;
  }

  test('a store set up with STRONGROOM_KEK starts again with it', async () => {
    const out = await startAndStop({ STRONGROOM_KEK: kek }, ['--demo'], DEMO_FILE_LINE);
    assert.match(out, /Passwords, keys and client secrets are in .*demo\.json/);
    await startAndStop({ STRONGROOM_KEK: kek });
  });

  test('a wrong STRONGROOM_KEK fails start-up with a message naming it', async () => {
    const stderr = await startFails({ STRONGROOM_KEK: randomBytes(32).toString('base64') });
    assert.match(
      stderr,
      /STRONGROOM_KEK is not the key-encryption key this store's secrets were sealed with/,
    );
    assert.match(stderr, /Set STRONGROOM_KEK to that key/);
  });

  test('a missing STRONGROOM_KEK fails start-up: the generated key file is not the store key', async () => {
    const stderr = await startFails({});
    assert.match(
      stderr,
      /The key-encryption key in .*kek is not the one this store's secrets were sealed with/,
    );
    assert.match(stderr, /If the store was set up with STRONGROOM_KEK, set it again/);
  });

  test('the banner never points at a demo.json that was not written', async () => {
    rmSync(path.join(dataDir, 'demo.json'));
    const out = await startAndStop({ STRONGROOM_KEK: kek }, ['--demo'], DEMO_FILE_LINE);
    assert.doesNotMatch(out, /Passwords, keys and client secrets are in/);
    assert.match(
      out,
      /The demo was seeded earlier or by another instance: .*demo\.json was not written here/,
    );
    assert.equal(existsSync(path.join(dataDir, 'demo.json')), false);
  });

  test('on PostgreSQL without STRONGROOM_KEK no local key is generated', {
    skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
  }, async () => {
    const database = await createPostgresDatabase({ migrated: true });
    const pgDataDir = path.join(root, 'pg');
    try {
      const port = await freePort();
      const result = await runCliToEnd(['start', '--data-dir', pgDataDir, '--port', String(port)], {
        DATABASE_URL: database.url,
      });
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        /STRONGROOM_KEK is not set\. With PostgreSQL, set STRONGROOM_KEK to a base64-encoded 32-byte key/,
      );
      assert.equal(existsSync(path.join(pgDataDir, 'kek')), false, 'no kek file written');
    } finally {
      await database.drop();
    }
  });
});
