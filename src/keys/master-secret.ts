// Decides which master secret seals the keys: LATCHKEY_SECRET when set, else
// (the embedded default outside production) a secret generated once into
// <dataDir>/latchkey.secret and reused on every later boot.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { generateMasterSecret, MASTER_SECRET_ADVICE, masterSecretProblem } from '../config/master-secret-rule.ts';
import { ConfigError } from '../errors.ts';

export const MASTER_SECRET_FILE = 'latchkey.secret';

export interface MasterSecretOptions {
  readonly masterSecret: string | null;
  readonly dataDir: string;
}

export function resolveMasterSecret(options: MasterSecretOptions, log: { info(msg: string): void }): string {
  if (options.masterSecret) return options.masterSecret;

  const file = path.join(options.dataDir, MASTER_SECRET_FILE);
  if (createSecretFile(file)) {
    log.info(`Generated a master secret in ${file}; keep this file private and backed up with the database, or set LATCHKEY_SECRET`);
  }
  return readSecretFile(file);
}

/**
 * Creates the file unless it exists; true when this call created it.
 * The secret is written to a private temporary file (exclusive 'wx', 0600)
 * and then hard-linked into place: link() fails with EEXIST when another
 * process won the race, and the file never exists half-written, so a racing
 * process (or a crash mid-write) can never leave an empty secret behind.
 */
function createSecretFile(file: string): boolean {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    try {
      writeSync(fd, `${generateMasterSecret()}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

function readSecretFile(file: string): string {
  const where = `the generated secret file ${file}`;
  // POSIX permission bits mean nothing on Windows; there the directory's ACL decides.
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new ConfigError('LATCHKEY_SECRET', `is unset and ${where} is accessible to group or others; run \`chmod 600 ${file}\``);
  }
  const secret = readFileSync(file, 'utf8').trim();
  // Files generated before this rule hold base64url of 48 random bytes, which meets it.
  const problem = masterSecretProblem(secret);
  if (problem) throw new ConfigError('LATCHKEY_SECRET', `is unset and ${where} ${problem.replace(/^must be/, 'must hold')}; ${MASTER_SECRET_ADVICE}`);
  return secret;
}
