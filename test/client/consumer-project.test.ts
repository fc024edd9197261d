import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PACKAGE = path.join(ROOT, 'packages/client');
const run = promisify(execFile);

/** The consumer's code: typed calls to banking operations, types taken from the documents. */
const GOOD = `import {
  createClient,
  sessionStorageTokenStore,
  StrongroomProblem,
  type accounts,
  type transfers,
} from '@strongroom/client';

const client = createClient({
  baseUrl: 'https://localhost:8443',
  apiKey: 'key',
  clientId: 'client',
  redirectUri: 'http://127.0.0.1/callback',
  tokenStore: sessionStorageTokenStore(),
});

export type Account = accounts.components['schemas']['account'];

export async function available(accountId: string): Promise<string> {
  const { data } = await client.GET('/accounts/accounts/{accountId}/balance', { params: { path: { accountId } } });
  return data ? \`\${data.available.value} \${data.available.currency}\` : '';
}

export async function names(): Promise<string[]> {
  const { data } = await client.GET('/accounts/accounts', { params: { query: { limit: 10 } } });
  return (data?.items ?? []).map((account: Account) => account.name);
}

export async function pay(from: string, to: string): Promise<transfers.components['schemas']['transfer'] | undefined> {
  const { data } = await client.POST('/transfers/scheduledTransfers', {
    params: { header: { 'Idempotency-Key': 'c0ffee' } },
    body: {
      sourceAccount: { id: from },
      targetAccount: { id: to },
      amount: { value: '12.34', currency: 'USD' },
      schedule: { start: '2026-12-24' },
    },
  });
  return data;
}

export const isProblem = (error: unknown): error is StrongroomProblem => error instanceof StrongroomProblem;
`;

/** Deliberately wrong calls: each line marked `// wrong` must fail to type-check. */
const WRONG = `import { createClient } from '@strongroom/client';

const client = createClient({ baseUrl: 'https://b', apiKey: 'k', clientId: 'c', redirectUri: 'http://127.0.0.1/cb' });

export async function mistakes() {
  await client.GET('/accounts/no-such-collection'); // wrong
  await client.GET('/accounts/accounts/{accountId}', { params: { path: {} } }); // wrong
  const { data } = await client.GET('/accounts/accounts');
  const count: number = data?.items[0]?.name ?? 0; // wrong
  await client.POST('/transfers/scheduledTransfers', { params: { header: { 'Idempotency-Key': 'k' } }, body: { sourceAccount: { id: 'a' } } }); // wrong
  await client.POST('/transfers/scheduledTransfers', { body: { sourceAccount: { id: 'a' }, targetAccount: { id: 'b' }, amount: { value: '1', currency: 'USD' }, schedule: { start: '2026-01-01' } } }); // wrong
  return count;
}
`;

describe('a consumer project built against packages/client', () => {
  let dir: string;
  before(() => {
    assert.ok(
      existsSync(path.join(PACKAGE, 'dist/index.d.ts')),
      'packages/client is built (npm run sdk:build; npm test does it first)',
    );
    dir = mkdtempSync(path.join(tmpdir(), 'strongroom-consumer-'));
    // Installed as a copy (not a link): inside node_modules Node runs only JavaScript, never TypeScript.
    const installed = path.join(dir, 'node_modules/@strongroom/client');
    mkdirSync(installed, { recursive: true });
    cpSync(path.join(PACKAGE, 'package.json'), path.join(installed, 'package.json'));
    cpSync(path.join(PACKAGE, 'dist'), path.join(installed, 'dist'), { recursive: true });
    const resolve = createRequire(path.join(PACKAGE, 'package.json'));
    for (const dependency of ['openapi-fetch', 'oauth4webapi', 'undici']) {
      const source = path.dirname(resolve.resolve(`${dependency}/package.json`));
      mkdirSync(path.dirname(path.join(dir, 'node_modules', dependency)), { recursive: true });
      symlinkSync(source, path.join(dir, 'node_modules', dependency), 'dir');
    }
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          // A browser project: no Node types; every package's declaration files are checked (ours included).
          lib: ['es2023', 'dom', 'dom.iterable'],
          types: [],
          skipLibCheck: false,
          skipDefaultLibCheck: true,
        },
        include: ['*.ts'],
      }),
    );
    writeFileSync(path.join(dir, 'good.ts'), GOOD);
    writeFileSync(path.join(dir, 'wrong.ts'), WRONG);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('type-checks typed banking calls, and rejects each deliberately wrong call', async () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir }).then(
      () => ({ stdout: '' }),
      (error: { stdout: string }) => ({ stdout: error.stdout }),
    );
    const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    assert.deepEqual(
      errors.filter((line) => !line.startsWith('wrong.ts')),
      [],
      'the correct calls and the package declarations type-check',
    );
    const wrongLines = WRONG.split('\n').flatMap((line, index) =>
      line.endsWith('// wrong') ? [index + 1] : [],
    );
    const failedLines = [...new Set(errors.map((line) => Number(/^wrong\.ts\((\d+),/.exec(line)?.[1])))];
    assert.deepEqual(failedLines.sort(), wrongLines.sort(), result.stdout);
  });

  it('loads as JavaScript from node_modules', async () => {
    const script =
      "const sdk = await import('@strongroom/client'); const node = await import('@strongroom/client/node');" +
      "const c = sdk.createClient({ baseUrl: 'https://b', apiKey: 'k', clientId: 'c', redirectUri: 'http://127.0.0.1/cb' });" +
      'console.log(JSON.stringify([typeof c.GET, typeof node.fileTokenStore, sdk.API_NAMES.includes("accounts")]));';
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
    assert.deepEqual(JSON.parse(stdout), ['function', 'function', true]);
  });
});
