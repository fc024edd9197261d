import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config/index.ts';

const LOANS_DOCUMENT = 'openapi: 3.1.0\ninfo: { title: Loans, version: 1.0.0 }\npaths: {}\n';

const scratchDirs: string[] = [];
/** A fresh directory for configuration and document files, removed after the tests. */
function scratchDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'strongroom-config-'));
  scratchDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

describe('configuration', () => {
  test('defaults give an HTTPS platform on localhost:8443 with a data dir under the working directory', () => {
    const result = loadConfig([], {}, '/srv/app');
    assert.ok(result.ok);
    assert.equal(result.config.port, 8443);
    assert.equal(result.config.host, '127.0.0.1');
    assert.equal(result.config.publicUrl, 'https://localhost:8443');
    assert.equal(result.config.dataDir, '/srv/app/.strongroom');
    assert.equal(result.config.databaseUrl, undefined);
    assert.equal(result.config.timeZone, 'UTC');
    assert.deepEqual(result.config.trustProxy, []);
    assert.ok(Object.isFrozen(result.config));
  });

  test('every flag is also a STRONGROOM_ environment variable, and flags win', () => {
    const result = loadConfig(['--port', '9000'], {
      STRONGROOM_PORT: '7000',
      STRONGROOM_DATA_DIR: '/var/lib/strongroom',
      STRONGROOM_TIME_ZONE: 'Europe/Paris',
      STRONGROOM_DEMO: 'true',
    });
    assert.ok(result.ok);
    assert.equal(result.config.port, 9000);
    assert.equal(result.config.dataDir, '/var/lib/strongroom');
    assert.equal(result.config.timeZone, 'Europe/Paris');
    assert.equal(result.config.demo, true);
  });

  test('DATABASE_URL and REDIS_URL work without the prefix', () => {
    const result = loadConfig([], {
      DATABASE_URL: 'postgres://db.internal/strongroom',
      REDIS_URL: 'redis://cache:6379',
    });
    assert.ok(result.ok);
    assert.equal(result.config.databaseUrl, 'postgres://db.internal/strongroom');
    assert.equal(result.config.redisUrl, 'redis://cache:6379');
  });

  test('--trust-proxy switches to plain HTTP and keeps the proxy list', () => {
    const result = loadConfig(['--trust-proxy', '10.0.0.0/8, 127.0.0.1'], {});
    assert.ok(result.ok);
    assert.deepEqual(result.config.trustProxy, ['10.0.0.0/8', '127.0.0.1']);
    assert.equal(result.config.publicUrl, 'http://localhost:8443');
  });

  test('repeatable --api and --upstream pair into upstream APIs with their parsed documents', () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 'loans.yaml'), LOANS_DOCUMENT);
    writeFileSync(
      path.join(dir, 'cards.json'),
      JSON.stringify({ openapi: '3.1.0', info: { title: 'Cards' } }),
    );
    const result = loadConfig(
      [
        '--api',
        'loans=./loans.yaml',
        '--api',
        'cards=cards.json',
        '--upstream',
        'loans=http://10.1.2.3:8080',
        '--upstream',
        'cards=https://cards.internal/v1',
      ],
      {},
      dir,
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.deepEqual(
      result.config.upstreamApis.map(({ name, file, upstream }) => ({ name, file, upstream })),
      [
        { name: 'loans', file: path.join(dir, 'loans.yaml'), upstream: 'http://10.1.2.3:8080' },
        { name: 'cards', file: path.join(dir, 'cards.json'), upstream: 'https://cards.internal/v1' },
      ],
    );
    assert.deepEqual((result.config.upstreamApis[0]?.document as { info?: unknown } | undefined)?.info, {
      title: 'Loans',
      version: '1.0.0',
    });
  });

  test("the --config file's paths are relative to the file, and flags win over it name by name", () => {
    const dir = scratchDir();
    mkdirSync(path.join(dir, 'etc', 'apis'), { recursive: true });
    writeFileSync(path.join(dir, 'etc', 'apis', 'loans.yaml'), LOANS_DOCUMENT);
    writeFileSync(
      path.join(dir, 'etc', 'strongroom.yaml'),
      'apis:\n  loans: ./apis/loans.yaml\nupstreams:\n  loans: http://file.internal:8080\n',
    );
    const result = loadConfig(
      ['--config', 'etc/strongroom.yaml', '--upstream', 'loans=http://flag.internal:9090'],
      {},
      dir,
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.equal(result.config.configFile, path.join(dir, 'etc', 'strongroom.yaml'));
    assert.deepEqual(
      result.config.upstreamApis.map(({ file, upstream }) => ({ file, upstream })),
      [{ file: path.join(dir, 'etc', 'apis', 'loans.yaml'), upstream: 'http://flag.internal:9090' }],
    );
  });

  test('an API without upstream, an upstream without API and a non-http upstream are each reported', () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 'loans.yaml'), LOANS_DOCUMENT);
    writeFileSync(path.join(dir, 'cards.yaml'), LOANS_DOCUMENT);
    const result = loadConfig(
      [
        '--api',
        'loans=loans.yaml',
        '--api',
        'cards=cards.yaml',
        '--upstream',
        'cards=ftp://cards.internal',
        '--upstream',
        'fx=http://fx.internal',
      ],
      {},
      dir,
    );
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.issues, [
      {
        name: '--api loans',
        message: `${path.join(dir, 'loans.yaml')} has no upstream (--upstream loans=<url>)`,
      },
      { name: '--api cards', message: 'the upstream must be an http(s) URL' },
      { name: '--upstream fx', message: 'no OpenAPI document (--api fx=<file>)' },
    ]);
  });

  test('each invalid value gets its own message naming it, and all are reported together', () => {
    const result = loadConfig(
      ['--port', '99999', '--time-zone', 'Mars/Olympus', '--trust-proxy', 'not-an-ip'],
      {
        DATABASE_URL: 'mysql://db/x',
        STRONGROOM_LOG_LEVEL: 'loud',
        STRONGROOM_TLS_CERT: '/etc/cert.pem',
      },
    );
    assert.equal(result.ok, false);
    if (result.ok) return;
    const names = result.issues.map((i) => i.name);
    assert.deepEqual(names.sort(), [
      '--port',
      '--time-zone',
      '--tls-cert/--tls-key',
      '--trust-proxy',
      'DATABASE_URL',
      'STRONGROOM_LOG_LEVEL',
    ]);
    for (const issue of result.issues)
      assert.ok(issue.message.length > 10, `${issue.name} has a helpful message`);
  });

  test('a URL with credentials is never echoed in an error', () => {
    const result = loadConfig([], { STRONGROOM_PUBLIC_URL: 'https://user:s3cret@' });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.doesNotMatch(JSON.stringify(result.issues), /s3cret/);
  });

  test('an unknown flag is a usage error', () => {
    const result = loadConfig(['--no-such-flag'], {});
    assert.equal(result.ok, false);
  });
});

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  return {
    io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: '/tmp' },
    out: () => out,
    err: () => err,
  };
}

describe('CLI', () => {
  test('invalid configuration exits with code 2 and lists every problem', async () => {
    const t = io();
    const code = await main(['migrate', '--port', 'abc', '--log-level', 'loud'], t.io);
    assert.equal(code, 2);
    assert.match(t.err(), /--port: expected a port number/);
    assert.match(t.err(), /--log-level: expected one of/);
  });

  test('a broken --config file and an API without upstream are reported together with a bad flag', async () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 'broken.yaml'), 'apis: [loans: ./loans.yaml\n');
    writeFileSync(path.join(dir, 'loans.yaml'), LOANS_DOCUMENT);
    const t = io();
    const code = await main(
      [
        'migrate',
        '--config',
        path.join(dir, 'broken.yaml'),
        '--api',
        `loans=${dir}/loans.yaml`,
        '--port',
        'abc',
      ],
      t.io,
    );
    assert.equal(code, 2);
    assert.match(t.err(), /--config: cannot read the configuration file .*broken\.yaml/);
    assert.match(t.err(), /--api loans: .*loans\.yaml has no upstream \(--upstream loans=<url>\)/);
    assert.match(t.err(), /--port: expected a port number/);
  });

  test('--help lists the commands', async () => {
    const t = io();
    assert.equal(await main(['--help'], t.io), 0);
    assert.match(t.out(), /start\s+run the platform/);
    assert.match(t.out(), /migrate\s+apply pending database migrations/);
  });

  test('each command has --help with the configuration table', async () => {
    const t = io();
    assert.equal(await main(['start', '--help'], t.io), 0);
    assert.match(t.out(), /--data-dir/);
    assert.match(t.out(), /STRONGROOM_DATA_DIR/);
    assert.match(t.out(), /DATABASE_URL/);
  });

  test('an unknown command is a usage error', async () => {
    const t = io();
    assert.equal(await main(['frobnicate'], t.io), 2);
    assert.match(t.err(), /unknown command/);
  });
});
