import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import type { Clock } from '../lib/clock.ts';

x509.cryptoProvider.set(webcrypto as never);
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

/** Key/certificate pairs for the HTTPS listener (EC first, RSA for the FAPI TLS 1.2 RSA suites). */
export interface TlsMaterial {
  key: string[];
  cert: string[];
  /** Absolute path of the local CA certificate clients should trust; undefined with real certificates. */
  caFile: string | undefined;
}

/**
 * The listener's protocol policy (DESIGN.md §5.1, FAPI 2.0 §5.2.2): TLS 1.3 with its AEAD suites, and
 * TLS 1.2 only with ECDHE key exchange and AES-GCM (ECDSA or RSA certificates). No static-RSA key
 * exchange, no CBC, no SHA-1 MACs, no ARIA/CAMELLIA/CHACHA on 1.2; the server's order wins.
 */
export const TLS_POLICY = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
  ].join(':'),
  honorCipherOrder: true,
} as const;

const FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  server: 'server.pem',
  serverKey: 'server-key.pem',
  serverRsa: 'server-rsa.pem',
  serverRsaKey: 'server-rsa-key.pem',
} as const;
type FileName = keyof typeof FILES;

/** The only names the local CA may ever vouch for (RFC 5280 name constraints). */
const LOCAL_DNS = 'localhost';
const LOCAL_IPV4 = '127.0.0.1';
const LOCAL_IPV6 = '::1';

/**
 * TLS material for the listener: the configured certificate, or a local CA and server certificates for
 * localhost, 127.0.0.1 and ::1, generated once into `<dataDir>/tls/` (keys mode 0600) and reused.
 * The CA is name-constrained to those names, so trusting it cannot expose a user to certificates for
 * any other host even if its key leaked.
 */
export async function loadTlsMaterial(
  options: {
    dataDir: string;
    tlsCert: string | undefined;
    tlsKey: string | undefined;
  },
  clock: Clock,
): Promise<TlsMaterial> {
  if (options.tlsCert && options.tlsKey) {
    return {
      cert: [await readFile(options.tlsCert, 'utf8')],
      key: [await readFile(options.tlsKey, 'utf8')],
      caFile: undefined,
    };
  }
  const dir = path.join(options.dataDir, 'tls');
  const file = (name: FileName) => path.join(dir, FILES[name]);
  if (!(Object.keys(FILES) as FileName[]).every((name) => existsSync(file(name)))) {
    await writeFiles(file, await generateLocalPki(clock.now()), dir);
  }
  return {
    key: [await readFile(file('serverKey'), 'utf8'), await readFile(file('serverRsaKey'), 'utf8')],
    cert: [await readFile(file('server'), 'utf8'), await readFile(file('serverRsa'), 'utf8')],
    caFile: file('ca'),
  };
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
} as const;
const DAY = 86_400_000;

/** Certificates valid from a minute before `now` (domain time: in production, the system clock). */
async function generateLocalPki(now: number): Promise<Record<FileName, string>> {
  const subtle = webcrypto.subtle;
  const notBefore = new Date(now - 60_000);
  const caKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caName = 'CN=Strongroom local CA, O=Strongroom';
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore,
    notAfter: new Date(now + 10 * 365 * DAY),
    keys: caKeys,
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.Extension('2.5.29.30', true, nameConstraintsDer()),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leaf = async (keys: CryptoKeyPair) =>
    x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: 'CN=localhost',
      issuer: ca.subject,
      notBefore,
      // Browsers refuse server certificates valid for more than 398 days.
      notAfter: new Date(now + 397 * DAY),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: EC_SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: LOCAL_DNS },
          { type: 'ip', value: LOCAL_IPV4 },
          { type: 'ip', value: LOCAL_IPV6 },
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
  const ecKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const rsaKeys = (await subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const [ecCert, rsaCert] = [await leaf(ecKeys), await leaf(rsaKeys)];
  return {
    ca: ca.toString('pem'),
    caKey: await privatePem(caKeys.privateKey),
    server: ecCert.toString('pem'),
    serverKey: await privatePem(ecKeys.privateKey),
    serverRsa: rsaCert.toString('pem'),
    serverRsaKey: await privatePem(rsaKeys.privateKey),
  };
}

async function writeFiles(file: (name: FileName) => string, contents: Record<FileName, string>, dir: string) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Keys first and certificates last, each atomically: a reader never sees a certificate without its key.
  const order: FileName[] = ['caKey', 'serverKey', 'serverRsaKey', 'ca', 'server', 'serverRsa'];
  for (const name of order) {
    const mode = name.endsWith('Key') ? 0o600 : 0o644;
    const target = file(name);
    const temp = `${target}.${process.pid}.tmp`;
    await writeFile(temp, `${contents[name].trim()}\n`, { mode });
    await chmod(temp, mode);
    await rename(temp, target);
  }
}

async function privatePem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim();
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

/** Positive 128-bit serial number (hex). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

/**
 * DER of NameConstraints { permittedSubtrees [0] { dNSName localhost, iPAddress 127.0.0.1/32, iPAddress ::1/128 } }.
 * Written out here because the x509 library has no typed builder for it; every length is < 128 bytes,
 * so each TLV uses the short length form.
 */
function nameConstraintsDer(): Uint8Array {
  const tlv = (tag: number, content: number[]) => [tag, content.length, ...content];
  const ascii = (text: string) => [...Buffer.from(text, 'ascii')];
  const subtree = (generalName: number[]) => tlv(0x30, generalName);
  const dns = subtree(tlv(0x82, ascii(LOCAL_DNS)));
  const ipv4 = subtree(tlv(0x87, [127, 0, 0, 1, 255, 255, 255, 255]));
  const ipv6 = subtree(tlv(0x87, [...new Array(15).fill(0), 1, ...new Array(16).fill(255)]));
  return new Uint8Array(tlv(0x30, tlv(0xa0, [...dns, ...ipv4, ...ipv6])));
}
