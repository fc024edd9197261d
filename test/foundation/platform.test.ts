import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createTestApp, startServer, type TestServer } from '../helpers/test-app.ts';

describe('HTTPS platform', () => {
  let t: TestServer;
  let baseUrl: string;

  before(async () => {
    t = await startServer();
    baseUrl = t.baseUrl;
  });
  after(() => t.close());

  test('generates a local CA and server certificates with private keys mode 0600', () => {
    const dir = path.join(t.dataDir, 'tls');
    for (const file of ['ca.pem', 'server.pem', 'server-rsa.pem'])
      assert.ok(statSync(path.join(dir, file)).isFile());
    for (const file of ['ca-key.pem', 'server-key.pem', 'server-rsa-key.pem']) {
      assert.equal(statSync(path.join(dir, file)).mode & 0o777, 0o600, `${file} is private`);
    }
  });

  test('the local CA is name-constrained to localhost, 127.0.0.1 and ::1', async () => {
    const x509 = await import('@peculiar/x509');
    const ca = new x509.X509Certificate(readFileSync(path.join(t.dataDir, 'tls', 'ca.pem'), 'utf8'));
    const constraints = ca.getExtension('2.5.29.30');
    assert.ok(constraints, 'name constraints extension present');
    assert.equal(constraints.critical, true);
    const server = new x509.X509Certificate(readFileSync(path.join(t.dataDir, 'tls', 'server.pem'), 'utf8'));
    assert.equal(server.issuer, ca.subject);
    const san = server.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(
      san?.names.items.map((n) => n.value),
      ['localhost', '127.0.0.1', '::1'],
    );
  });

  test('a client trusting ca.pem connects and /health/ready answers 200', async () => {
    const res = await fetch(`${baseUrl}/health/ready`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: 'ready',
      checks: { store: 'up', changeLog: 'fresh', redis: 'notConfigured' },
    });
    assert.match(String(res.headers.get('x-request-id')), /^req_/);
  });

  test('/health/live answers without credentials', async () => {
    const res = await fetch(`${baseUrl}/health/live`);
    assert.equal(res.status, 200);
  });

  test('plain HTTP to the TLS port gets no API answer', async () => {
    const port = Number(new URL(baseUrl).port);
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/health/ready', timeout: 3000 }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(`status ${res.statusCode} ${body}`));
      });
      req.on('error', (error) => resolve(`error ${(error as NodeJS.ErrnoException).code}`));
      req.on('timeout', () => {
        req.destroy();
        resolve('timeout');
      });
      req.end();
    });
    assert.doesNotMatch(outcome, /ready/);
  });

  test('TLS 1.1 is refused', async () => {
    const port = Number(new URL(baseUrl).port);
    const result = await new Promise<string>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        maxVersion: 'TLSv1.1',
        minVersion: 'TLSv1',
        rejectUnauthorized: false,
      });
      socket.on('secureConnect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', () => resolve('refused'));
    });
    assert.equal(result, 'refused');
  });

  test('serves both an EC and an RSA certificate', async () => {
    const port = Number(new URL(baseUrl).port);
    const keyTypes: string[] = [];
    for (const ciphers of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256']) {
      const type = await new Promise<string>((resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          maxVersion: 'TLSv1.2',
          ciphers,
          ca: readFileSync(String(t.app.tls?.caFile)),
        });
        socket.on('secureConnect', () => {
          const cert = socket.getPeerX509Certificate();
          socket.destroy();
          resolve(String(cert?.publicKey.asymmetricKeyType));
        });
        socket.on('error', reject);
      });
      keyTypes.push(type);
    }
    assert.deepEqual(keyTypes, ['ec', 'rsa']);
  });

  test('the certificate is generated once and reused by the next start', async () => {
    const before = readFileSync(path.join(t.dataDir, 'tls', 'server.pem'), 'utf8');
    const again = await createTestApp({ dataDir: t.dataDir });
    try {
      assert.equal(readFileSync(path.join(t.dataDir, 'tls', 'server.pem'), 'utf8'), before);
    } finally {
      await again.close();
    }
  });
});

describe('behind a TLS-terminating proxy', () => {
  test('--trust-proxy serves plain HTTP', async () => {
    const t = await createTestApp({ args: ['--trust-proxy', '127.0.0.1'], listen: true });
    try {
      assert.equal(t.app.tls, undefined);
      const port = new URL(t.config.publicUrl).port;
      const res = await fetch(`http://127.0.0.1:${port}/health/live`);
      assert.equal(res.status, 200);
    } finally {
      await t.close();
    }
  });
});

describe('graceful shutdown', () => {
  test('completes an in-flight request before closing', async () => {
    const t = await createTestApp();
    const dataDir = t.dataDir;
    await t.app.close();
    const result = loadConfig(
      ['--data-dir', dataDir, '--port', '0', '--trust-proxy', '127.0.0.1', '--log-level', 'silent'],
      {},
    );
    assert.ok(result.ok);
    const app = await createApp(result.config);
    // The handler holds the request until the test lets it go, after close() has begun.
    const entered = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    app.http.get('/slow', async () => {
      entered.resolve();
      await release.promise;
      return { done: true };
    });
    const url = await app.listen();
    const inFlight = fetch(`${url}/slow`).then(async (res) => ({
      status: res.status,
      body: await res.json(),
    }));
    await entered.promise;
    const closing = app.close();
    await new Promise((resolve) => setImmediate(resolve));
    release.resolve();
    const answer = await inFlight;
    await closing;
    assert.deepEqual(answer, { status: 200, body: { done: true } });
    await fetch(`${url}/health/live`).then(
      () => assert.fail('the server should no longer accept connections'),
      () => {},
    );
  });
});
