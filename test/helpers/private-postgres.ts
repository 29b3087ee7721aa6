// A PostgreSQL server of the test's own (initdb into a temp dir, its own port),
// so fault tests can stop and start "the database" without touching the
// machine's shared server that every other test uses.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';

const BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((dir) => existsSync(path.join(dir, 'pg_ctl')));

export interface PrivatePostgres {
  readonly url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

/** True when this machine can run a private PostgreSQL (Debian's server binaries present). */
export const canRunPrivatePostgres = (): boolean => BIN !== undefined;

function asPostgres(command: string, args: string[]): void {
  // PostgreSQL refuses to run as root; CI and developer machines run tests as root.
  const runAs = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const result = spawnSync(runAs[0] as string, runAs[1] as string[], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  if (!BIN) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-pg-'));
  chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const port = await freePort();
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  asPostgres(path.join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const pgctl = (action: 'start' | 'stop') =>
    asPostgres(path.join(BIN, 'pg_ctl'), action === 'start'
      ? ['-D', data, '-w', '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']
      : ['-D', data, '-w', '-m', 'fast', 'stop']);
  pgctl('start');
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: () => pgctl('stop'),
    start: () => pgctl('start'),
    destroy: () => {
      try {
        pgctl('stop');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
