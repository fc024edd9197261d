import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

/**
 * The CLI goes through services: commands parse options, call a service and print. A transaction, an
 * audit write, a repository or raw SQL in a command would bypass the rules the services keep (and the
 * audit they write), so none may appear here.
 */
const FORBIDDEN = [
  { pattern: /\.transaction\(/, what: 'a transaction' },
  { pattern: /audit\.record\(/, what: 'an audit write' },
  { pattern: /repository|Repository|\.repo\b/, what: 'a repository' },
  { pattern: /context\.(db|settings|audit)\b/, what: 'the store directly' },
  { pattern: /\b(selectFrom|insertInto|updateTable|deleteFrom)\(/, what: 'SQL' },
];

test('no CLI command opens a transaction, writes the audit log, reads a repository or speaks SQL', () => {
  const dir = import.meta.dirname;
  const offences: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const { pattern, what } of FORBIDDEN) if (pattern.test(text)) offences.push(`${file}: ${what}`);
  }
  assert.deepEqual(offences, []);
});
