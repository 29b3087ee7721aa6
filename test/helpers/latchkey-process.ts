// Runs Latchkey as a separate process, as `npm start` does but from the
// sources (`node --import tsx src/main.ts`), for tests that stop, kill or
// restart it. first-ten-minutes.test.ts runs `npm start` itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface LatchkeyProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts Latchkey with `env` and resolves once /readyz answers 200 at `issuer`. */
export function spawnLatchkey(env: Record<string, string>, issuer: string): Promise<LatchkeyProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const latchkey = { child, output: () => output, exited };
  return new Promise((resolve, reject) => {
    let settled = false;
    void exited.then(({ code, signal }) => {
      if (!settled) reject(new Error(`Latchkey exited (${code ?? signal}) before it was ready:\n${output}`));
      settled = true;
    });
    const started = Date.now();
    const poll = async () => {
      if (settled) return;
      if (Date.now() - started > 60_000) {
        settled = true;
        child.kill('SIGKILL');
        return reject(new Error(`Latchkey was not ready within 60 s:\n${output}`));
      }
      try {
        if ((await fetch(`${issuer}/readyz`)).ok) {
          settled = true;
          return resolve(latchkey);
        }
      } catch {
        // not listening yet
      }
      setTimeout(poll, 100);
    };
    void poll();
  });
}
