import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type SecureVersion } from 'node:tls';
import { createLogger } from '../../src/http/logger.ts';
import { createHttpServer, type FastifyInstance } from '../../src/http/server.ts';
import { loadTlsMaterial } from '../../src/http/tls.ts';
import { createManualClock, systemClock } from '../../src/lib/clock.ts';

/** DESIGN.md §5.1 TLS: 1.3, and 1.2 only with ECDHE-ECDSA/ECDHE-RSA + AES-128/256-GCM. */
describe('TLS protocol policy', () => {
  let app: FastifyInstance;
  let port: number;
  let ca: string;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-tls-'));
    const tls = await loadTlsMaterial({ dataDir, tlsCert: undefined, tlsKey: undefined }, systemClock);
    ca = readFileSync(String(tls.caFile), 'utf8');
    app = await createHttpServer({
      baseUrl: 'https://localhost',
      clock: createManualClock(),
      logger: createLogger({ level: 'silent' }),
      tls: { key: tls.key, cert: tls.cert },
      trustProxy: [],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  after(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The negotiated protocol and cipher, or `refused` when the handshake fails. */
  function handshake(options: { ciphers?: string; maxVersion?: SecureVersion; minVersion?: SecureVersion }) {
    return new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ...options });
      socket.on('secureConnect', () => {
        const negotiated = `${socket.getProtocol()} ${socket.getCipher().standardName}`;
        socket.destroy();
        resolve(negotiated);
      });
      socket.on('error', () => resolve('refused'));
    });
  }

  const forbidden12 = [
    'AES256-SHA', // static RSA key exchange, CBC, SHA-1
    'AES128-GCM-SHA256', // static RSA key exchange
    'ECDHE-RSA-AES128-SHA', // CBC + SHA-1 MAC
    'ECDHE-ECDSA-AES256-SHA384', // CBC
    'ECDHE-RSA-CHACHA20-POLY1305', // not a FAPI 2.0 suite
    'ECDHE-ECDSA-ARIA128-GCM-SHA256',
    'ECDHE-ARIA256-GCM-SHA384', // OpenSSL's name of ECDHE-RSA with ARIA
    'DHE-RSA-AES128-GCM-SHA256', // finite-field DHE
  ];
  for (const ciphers of forbidden12) {
    test(`TLS 1.2 with ${ciphers} is refused`, async () => {
      assert.equal(await handshake({ ciphers, maxVersion: 'TLSv1.2' }), 'refused');
    });
  }

  const allowed12 = [
    ['ECDHE-ECDSA-AES128-GCM-SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
    ['ECDHE-ECDSA-AES256-GCM-SHA384', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
    ['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
    ['ECDHE-RSA-AES256-GCM-SHA384', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
  ] as const;
  for (const [ciphers, standardName] of allowed12) {
    test(`TLS 1.2 with ${ciphers} is accepted`, async () => {
      assert.equal(await handshake({ ciphers, maxVersion: 'TLSv1.2' }), `TLSv1.2 ${standardName}`);
    });
  }

  test('TLS 1.3 is accepted and preferred', async () => {
    assert.match(await handshake({}), /^TLSv1\.3 TLS_AES_(128|256)_GCM_SHA(256|384)$/);
  });

  test('a TLS 1.2 client offering every suite gets an ECDHE + AES-GCM one', async () => {
    assert.match(
      await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ALL' }),
      /^TLSv1\.2 TLS_ECDHE_(ECDSA|RSA)_WITH_AES_128_GCM/,
    );
  });

  test('TLS 1.1 and older are refused', async () => {
    assert.equal(
      await handshake({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' }),
      'refused',
    );
  });
});
