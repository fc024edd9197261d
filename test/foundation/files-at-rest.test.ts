import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort, runCli, runCliToEnd } from '../helpers/cli-process.ts';

/** Only the public certificates may be readable by others (DESIGN.md §5.1 "At rest"). */
const PUBLIC_FILES = /^tls\/(ca|server(-rsa)?)\.pem$/;

/** Every entry below `dir` with its permission bits, as `relative path → mode`. */
function modes(dir: string): Map<string, number> {
  const result = new Map<string, number>([['.', statSync(dir).mode & 0o777]]);
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    result.set(name.split(path.sep).join('/'), statSync(path.join(dir, name)).mode & 0o777);
  }
  return result;
}

function assertPrivate(dir: string) {
  const found = modes(dir);
  for (const [name, mode] of found) {
    const isDir = statSync(path.join(dir, name)).isDirectory();
    const expected = isDir ? 0o700 : PUBLIC_FILES.test(name) ? 0o644 : 0o600;
    assert.equal(mode.toString(8), expected.toString(8), `${name} has mode ${mode.toString(8)}`);
  }
  return found;
}

describe('files at rest', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'strongroom-at-rest-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('`strongroom migrate` creates the data dir 0700 and the database 0600', async () => {
    const dataDir = path.join(root, 'migrated', 'data');
    const result = await runCliToEnd(['migrate', '--data-dir', dataDir]);
    assert.equal(result.code, 0, result.stderr);
    const found = assertPrivate(dataDir);
    assert.ok(found.has('strongroom.db'));
  });

  test('a data dir and database left readable by an older version are tightened', async () => {
    const dataDir = path.join(root, 'older');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    // An empty file is an empty SQLite database.
    writeFileSync(path.join(dataDir, 'strongroom.db'), '', { mode: 0o644 });
    chmodSync(path.join(dataDir, 'strongroom.db'), 0o644);
    assert.equal((await runCliToEnd(['migrate', '--data-dir', dataDir])).code, 0);
    assertPrivate(dataDir);
  });

  test('after `strongroom start --demo` every file in the data dir is 0600 except the public certificates', async () => {
    const dataDir = path.join(root, 'started');
    const port = await freePort();
    const cli = runCli([
      'start',
      '--demo',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--log-level',
      'warn',
    ]);
    try {
      await cli.waitForOutput(/Strongroom is running/);
      const found = assertPrivate(dataDir);
      for (const name of ['strongroom.db', 'strongroom.db-wal', 'strongroom.db-shm', 'kek', 'demo.json']) {
        assert.ok(found.has(name), `${name} exists (found ${[...found.keys()].join(', ')})`);
      }
      for (const name of ['tls/ca-key.pem', 'tls/server-key.pem', 'tls/server-rsa-key.pem', 'tls/ca.pem']) {
        assert.ok(found.has(name), `${name} exists`);
      }
    } finally {
      cli.kill('SIGTERM');
      await cli.exited;
    }
  });
});
