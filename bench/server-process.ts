// Runs a server under test as its own Node process, the way production runs
// it, and times it from spawn to its first successful discovery response.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface LaunchOptions {
  readonly name: string;
  /** Arguments to `node` (flags, then the entry script). */
  readonly nodeArgs: readonly string[];
  readonly env: Record<string, string>;
  /** The issuer URL; `/.well-known/openid-configuration` under it must answer 200 once ready. */
  readonly issuer: string;
  /** stdout and stderr go here, so a failed start can be explained. */
  readonly logFile: string;
  readonly cwd: string;
  readonly timeoutMs?: number;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly issuer: string;
  /** Milliseconds from spawn to the first 200 from discovery. */
  readonly startupMs: number;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const POLL_MS = 5;

export async function launchServer(options: LaunchOptions): Promise<ServerProcess> {
  const log = openSync(options.logFile, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, [...options.nodeArgs], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));

  const discovery = `${options.issuer}/.well-known/openid-configuration`;
  const deadline = started + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (gone) throw new Error(`${options.name} exited during start-up; see ${options.logFile}:\n${tail(options.logFile)}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not answer ${discovery} in time; see ${options.logFile}`);
    }
    try {
      const response = await fetch(discovery);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const startupMs = performance.now() - started;

  return {
    name: options.name,
    pid: child.pid!,
    issuer: options.issuer,
    startupMs,
    logFile: options.logFile,
    stop: (graceMs = 15_000) => stopChild(child, exited, graceMs),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
