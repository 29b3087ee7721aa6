// Makes the SQLite file's place before anything opens it: the directory 0700
// when Latchkey creates it, the file 0600, because it holds password hashes
// and the sealed signing keys. SQLite gives its -wal and -shm files the
// database file's permissions, so those follow.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';

export function prepareSqliteFile(file: string): void {
  if (file === ':memory:') return;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  // A file from before this rule (or made under a loose umask) is tightened: it is ours and nobody else's to read.
  if (statSync(file).mode & 0o077) chmodSync(file, 0o600);
}
