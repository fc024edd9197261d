import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium (never a downloaded browser), headless, with the background services that would
 * try to reach the network switched off (this machine has none).
 */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      ...extraArgs,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Chromium flags that make it trust exactly the test server's certificates (pinned by public key, from
 * `<dataDir>/tls/`) rather than ignoring every TLS error.
 */
export function trustServerCertificates(dataDir: string): string[] {
  const spki = ['server.pem', 'server-rsa.pem']
    .filter((name) => existsSync(path.join(dataDir, 'tls', name)))
    .map((name) => {
      const cert = new X509Certificate(readFileSync(path.join(dataDir, 'tls', name)));
      const der = cert.publicKey.export({ type: 'spki', format: 'der' });
      return createHash('sha256').update(der).digest('base64');
    });
  return [`--ignore-certificate-errors-spki-list=${spki.join(',')}`];
}
