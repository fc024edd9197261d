/**
 * Rules of docs/architecture.md that a reviewer would otherwise have to check by hand, checked over the
 * source itself (parsed with the TypeScript compiler, so comments and strings do not count):
 * - dependencies point one way, and a module reaches another only through its public surface;
 * - product code reads time only through the injected Clock.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** Product files: every `.ts` under src/ except unit tests (`*.test.ts`), as paths relative to src/. */
function productFiles(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .map((file) => file.split(path.sep).join('/'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(path.join(SRC, file), 'utf8'), ts.ScriptTarget.Latest, true);
}

// ---- the import graph ------------------------------------------------------------------------------

/**
 * Areas of src/ by layer. A file may import its own area, any area of a lower layer, and — in the
 * modules layer only — another area's public surface. Same-layer imports between different areas are
 * otherwise refused (e.g. `db` ↛ `http`).
 */
const LAYERS: Record<string, number> = {
  lib: 0,
  errors: 1,
  config: 1,
  db: 2,
  http: 2,
  demo: 2, // the demo.json contract
  store: 3,
  web: 3, // page templates, which may use the HTTP plumbing (web/demo is a capability: see areaOf)
  modules: 4, // modules/module-context.ts: what every module receives
  'modules/*': 4,
  banking: 4,
  'web/demo': 4, // the /demo/ browser client, wired by app.ts
  app: 5,
  cli: 6,
};

/**
 * Public surface of an area of the modules layer: the `index.ts` at its root (not a sub-folder's), its
 * `contract.ts` (type-only ports
 * other modules implement or call, kept apart so that using a port does not load the module), and the
 * shared module context.
 */
function isPublicSurface(target: string): boolean {
  const area = areaOf(target);
  return (
    target === `${area}/index.ts` ||
    target === `${area}/contract.ts` ||
    target === 'modules/module-context.ts'
  );
}

function areaOf(file: string): string {
  if (file === 'app.ts') return 'app';
  const [top = '', second = ''] = file.split('/');
  if (top === 'modules') return file.split('/').length > 2 ? `modules/${second}` : 'modules';
  if (top === 'web' && second === 'demo') return 'web/demo';
  return top;
}

function layerOf(area: string): number {
  const layer = LAYERS[area] ?? LAYERS[area.replace(/^modules\/.+$/, 'modules/*')];
  if (layer === undefined) throw new Error(`src/${area} is not in the layer table of this test`);
  return layer;
}

/** Relative imports (static, `export … from`, dynamic) of a file, as paths relative to src/. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(path.join(SRC, file), 'utf8'), true, true);
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => path.posix.normalize(path.posix.join(path.posix.dirname(file), name)));
}

/** Why an import breaks the rules, or undefined when it follows them. */
function violation(from: string, to: string): string | undefined {
  const a = areaOf(from);
  const b = areaOf(to);
  if (a === b) return undefined;
  const [la, lb] = [layerOf(a), layerOf(b)];
  if (lb > la) return `${a} (layer ${la}) imports the higher layer ${b} (layer ${lb})`;
  if (lb === la && la !== LAYERS.modules)
    return `${a} and ${b} are on one layer: neither may import the other`;
  if (lb === la && !isPublicSurface(to)) return `${a} imports ${b}'s internal file instead of its index.ts`;
  if (lb < la && lb === LAYERS.modules && !isPublicSurface(to))
    return `${a} imports ${b}'s internal file instead of its index.ts`;
  return undefined;
}

describe('architecture: the import graph', () => {
  const edges = productFiles().flatMap((from) => importsOf(from).map((to) => ({ from, to })));

  test('every area of src/ has a place in the layer table', () => {
    const unknown = [...new Set(productFiles().map(areaOf))].filter(
      (area) =>
        LAYERS[area] === undefined && LAYERS[area.replace(/^modules\/.+$/, 'modules/*')] === undefined,
    );
    assert.deepEqual(unknown, []);
  });

  test('dependencies point one way and modules meet only at their public surface', () => {
    const found = edges
      .map(({ from, to }) => ({ edge: `${from} -> ${to}`, why: violation(from, to) }))
      .filter((v) => v.why !== undefined)
      .map((v) => `${v.edge}: ${v.why}`);
    assert.deepEqual(found, []);
  });

  test('the check itself refuses an upward import and an internal file of another module', () => {
    assert.match(String(violation('db/migrate.ts', 'store/index.ts')), /higher layer/);
    assert.match(String(violation('lib/ids.ts', 'errors/index.ts')), /higher layer/);
    assert.match(
      String(violation('modules/gateway/index.ts', 'modules/oauth/grants-service.ts')),
      /internal/,
    );
    assert.match(String(violation('app.ts', 'modules/oauth/grants-service.ts')), /internal/);
    assert.match(String(violation('app.ts', 'modules/developers/portal/index.ts')), /internal/);
    assert.match(String(violation('db/migrate.ts', 'http/logger.ts')), /one layer/);
    assert.equal(violation('modules/developers/index.ts', 'modules/oauth/contract.ts'), undefined);
    assert.equal(violation('cli/main.ts', 'app.ts'), undefined);
  });
});

// ---- time ------------------------------------------------------------------------------------------

/** The one file allowed to read the system's clocks. */
const CLOCK_FILE = 'lib/clock.ts';

/** `Date.now()`, `Date()`, `new Date()` without an argument, `performance.now()`, `process.hrtime…`. */
function clockReads(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const at = (node: ts.Node) =>
    `${source.fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const callee = node.expression;
      const text = callee.getText(source);
      const args = node.arguments?.length ?? 0;
      if (/^(Date\.now|performance\.now|process\.hrtime(\.bigint)?)$/.test(text))
        found.push(`${at(node)} ${text}()`);
      else if (text === 'Date' && args === 0)
        found.push(`${at(node)} ${ts.isNewExpression(node) ? 'new ' : ''}Date()`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('architecture: one clock', () => {
  const reads = productFiles()
    .filter((file) => file !== CLOCK_FILE)
    .flatMap((file) => clockReads(parse(file)));

  test('product code reads time only through the injected Clock', () => {
    assert.deepEqual(reads, []);
  });

  test('the check itself finds each kind of direct read', () => {
    const source = ts.createSourceFile(
      'x.ts',
      'const a = Date.now(); const b = new Date(); const c = performance.now(); const d = new Date(5); // Date.now()',
      ts.ScriptTarget.Latest,
      true,
    );
    assert.deepEqual(
      clockReads(source).map((read) => read.slice(read.indexOf(' ') + 1)),
      ['Date.now()', 'new Date()', 'performance.now()'],
    );
  });
});
