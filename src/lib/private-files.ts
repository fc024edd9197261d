import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

/**
 * Files at rest (DESIGN.md §5.1): the data dir is 0700 and every file in it 0600, except the public
 * certificates. `mkdir`'s mode applies only to a directory it creates (and passes through the umask),
 * so an existing directory is tightened too.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Make `file` exist with mode 0600 before a library opens it (SQLite creates a missing database with
 * the umask's mode, 0644 by default, and gives its `-wal` and `-shm` files the database's mode), and
 * tighten it, and any of `companions` that exist, when an older version left them readable.
 */
export function ensurePrivateFile(file: string, companions: readonly string[] = []): void {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  for (const companion of companions) if (existsSync(companion)) chmodSync(companion, 0o600);
}
