import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config/index.ts';

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

  test('repeatable --api and --upstream become maps', () => {
    const result = loadConfig(
      [
        '--api',
        'loans=./loans.yaml',
        '--api',
        'cards=./cards.json',
        '--upstream',
        'loans=http://10.1.2.3:8080',
      ],
      {},
      '/srv',
    );
    assert.ok(result.ok);
    assert.deepEqual(result.config.apis, { loans: './loans.yaml', cards: './cards.json' });
    assert.deepEqual(result.config.upstreams, { loans: 'http://10.1.2.3:8080' });
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
