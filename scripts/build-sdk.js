// Builds packages/client (@strongroom/client) to JavaScript + .d.ts with tsc: Node runs no TypeScript
// inside node_modules, so the SDK ships compiled. Runs on `npm install`/`npm ci` (prepare) and before
// `npm test`. Without TypeScript (a production install, `npm ci --omit=dev`) it skips with a notice:
// only `strongroom login/call/logout` need the SDK.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
let tsc;
try {
  tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  console.warn(
    'packages/client not built: TypeScript is not installed (strongroom login/call/logout need it).',
  );
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'packages/client')], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
