import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';

/** Key/certificate pairs for the HTTPS listener (EC first, RSA for the FAPI TLS 1.2 RSA suites). */
export interface TlsMaterial {
  key: string[];
  cert: string[];
  /** Absolute path of the local CA certificate clients should trust; undefined with real certificates. */
  caFile: string | undefined;
}

const FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  server: 'server.pem',
  serverKey: 'server-key.pem',
  serverRsa: 'server-rsa.pem',
  serverRsaKey: 'server-rsa-key.pem',
} as const;

/**
 * TLS material for the listener: the configured certificate, or a local CA and server certificates for
 * localhost, 127.0.0.1 and ::1, generated once into `<dataDir>/tls/` (keys mode 0600) and reused.
 */
export async function loadTlsMaterial(options: {
  dataDir: string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
}): Promise<TlsMaterial> {
  if (options.tlsCert && options.tlsKey) {
    return {
      cert: [await readFile(options.tlsCert, 'utf8')],
      key: [await readFile(options.tlsKey, 'utf8')],
      caFile: undefined,
    };
  }
  const dir = path.join(options.dataDir, 'tls');
  const file = (name: keyof typeof FILES) => path.join(dir, FILES[name]);
  if (!Object.keys(FILES).every((name) => existsSync(file(name as keyof typeof FILES)))) {
    await generateLocalPki(dir, file);
  }
  return {
    key: [await readFile(file('serverKey'), 'utf8'), await readFile(file('serverRsaKey'), 'utf8')],
    cert: [await readFile(file('server'), 'utf8'), await readFile(file('serverRsa'), 'utf8')],
    caFile: file('ca'),
  };
}

async function generateLocalPki(dir: string, file: (name: keyof typeof FILES) => string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const notBeforeDate = new Date(now - 60_000);
  const ca = await generate([{ name: 'commonName', value: 'Strongroom local CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(now + 10 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const serverExtensions = [
    { name: 'basicConstraints' as const, cA: false, critical: true },
    { name: 'keyUsage' as const, digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage' as const, serverAuth: true },
    {
      name: 'subjectAltName' as const,
      altNames: [
        { type: 2 as const, value: 'localhost' },
        { type: 7 as const, ip: '127.0.0.1' },
        { type: 7 as const, ip: '::1' },
      ],
    },
  ];
  const serverOptions = {
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(now + 397 * 86_400_000),
    extensions: serverExtensions,
    ca: { key: ca.private, cert: ca.cert },
  };
  const ec = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...serverOptions,
    keyType: 'ec',
    curve: 'P-256',
  });
  // selfsigned signs with a CA key of the leaf's own type, so the RSA leaf gets an RSA CA; ca.pem holds both.
  const rsaCa = await generate([{ name: 'commonName', value: 'Strongroom local CA (RSA)' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(now + 10 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const rsa = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...serverOptions,
    ca: { key: rsaCa.private, cert: rsaCa.cert },
    keyType: 'rsa',
    keySize: 2048,
  });
  const writes: [keyof typeof FILES, string, number][] = [
    ['caKey', `${ca.private.trim()}\n${rsaCa.private.trim()}\n`, 0o600],
    ['serverKey', ec.private, 0o600],
    ['serverRsaKey', rsa.private, 0o600],
    ['ca', `${ca.cert.trim()}\n${rsaCa.cert.trim()}\n`, 0o644],
    ['server', ec.cert, 0o644],
    ['serverRsa', rsa.cert, 0o644],
  ];
  for (const [name, content, mode] of writes) {
    const target = file(name);
    const temp = `${target}.${process.pid}.tmp`;
    await writeFile(temp, content, { mode });
    await chmod(temp, mode);
    await rename(temp, target);
  }
}
