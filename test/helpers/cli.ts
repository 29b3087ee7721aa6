// Runs the real `latchkey` CLI in a child process, the way an operator would,
// but from the sources (through tsx), so the tests check the code as it is
// and not the last build (bin/latchkey.js runs the build: cli-bin.test.ts):
// `node --import tsx src/cli/main.ts …` with a clean environment (only what the test gives,
// plus NODE_ENV=test and a fresh temporary LATCHKEY_DATA_DIR), optional stdin.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/paths.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to (and overriding) the base environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to stdin, which is then closed; stdin is empty when absent. */
  readonly input?: string;
}

const CLI = path.join(packageRoot, 'src', 'cli', 'main.ts');

export function runCli(args: readonly string[], { env = {}, input }: CliOptions = {}): Promise<CliResult> {
  // One per run, removed when it ends: the CLI gets DATABASE_URL, so nothing
  // should land here, but a fresh install's defaults must not leak between runs.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-cli-'));
  // Not process.env: the runner's own DATABASE_URL (the PostgreSQL server)
  // must never leak into a CLI that should use the test's database.
  const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NODE_ENV: 'test', LATCHKEY_DATA_DIR: dataDir, ...env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: packageRoot, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const cleanUp = () => rmSync(dataDir, { recursive: true, force: true });
    child.on('error', (error) => {
      cleanUp();
      reject(error);
    });
    child.on('close', (code) => {
      cleanUp();
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}
