import { existsSync } from 'node:fs';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** An application of the demo institution as published in demo.json (DESIGN.md §3). */
export interface DemoApp {
  applicationId: string;
  clientId: string;
  clientSecret?: string;
  apiKeyId: string;
  apiKey: string;
  redirectUri: string;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'none' | 'private_key_jwt' | 'client_secret_post';
  scopes: string[];
}

export interface DemoEntitlement {
  resource: string;
  id: string;
  permissions: string[];
}

export interface DemoUser {
  id: string;
  username: string;
  persona: string;
  password: string;
  roles: string[];
  scopes: string[];
  entitlements: DemoEntitlement[];
  totpSecret?: string;
  recoveryCodes?: string[];
}

/** `<dataDir>/demo.json`: everything a newcomer, a test or a benchmark needs to use the demo institution. */
export interface DemoDocument {
  baseUrl: string;
  issuer: string;
  audience: string;
  caCertFile: string | null;
  apps: Partial<Record<'backOffice' | 'mobile' | 'loadTest' | (string & {}), DemoApp>>;
  users: DemoUser[];
  /** The sandbox's test customers (DESIGN.md §5.4), same shape as `users`; they sign in only through sandbox apps. */
  sandboxUsers?: DemoUser[];
  [extra: string]: unknown;
}

export function demoFilePath(dataDir: string): string {
  return path.join(dataDir, 'demo.json');
}

/** Write atomically (temp file + rename) with mode 0600: it holds demo passwords and keys. */
export async function writeDemoFile(dataDir: string, doc: DemoDocument): Promise<string> {
  const target = demoFilePath(dataDir);
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, target);
  return target;
}

export async function readDemoFile(dataDir: string): Promise<DemoDocument | undefined> {
  const file = demoFilePath(dataDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as DemoDocument;
}
