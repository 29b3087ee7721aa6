// Counts the CPU instructions a Latchkey build executes per request of one
// scenario, under valgrind's callgrind: a figure the machine's load does not
// move, for comparing two builds where `npm run bench`'s rates vary between
// runs by more than the difference looked for (on a shared 2-core machine,
// one build's per-CPU ratio spans ±5 points from run to run, so "within 5%"
// cannot be judged from its runs). Every thread counts (V8's garbage
// collector, the thread pool that signs and hashes passwords); the kernel's
// work (sockets, file writes) and the database server's do not, nor do cache
// misses: a complement to `npm run bench`, not a replacement.
//
//   node --import tsx bench/instructions.ts --scenario refresh [--build DIR] [--requests N]
//
// --build names the checkout to measure (default this one), built (`npm run
// build`) and with its own node_modules: it is provisioned with its own code,
// since an older build has an older schema. Needs valgrind (Debian: `apt-get
// install valgrind`). Counting starts after a warm-up, so start-up and JIT
// compilation of the first requests are left out; a few thousand requests
// even out most of garbage collection (two runs of one build: 1% apart for
// refresh, up to 6% for the smallest requests), so run each twice.
//
// With --cpu it measures instead what `npm run bench` divides by: the
// server's CPU time (user + system, every thread, from /proc) per request,
// without valgrind. That counts what instructions leave out (the kernel,
// cache misses, OpenSSL's locks) but moves with the machine's load, so
// compare two builds by alternating them, run for run, several times.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/free-port.ts';
import { testEnv } from '../test/helpers/test-env.ts';

const SCENARIOS = ['client-credentials', 'jwks', 'discovery', 'refresh', 'introspection', 'login'] as const;
type Scenario = (typeof SCENARIOS)[number];
const DEFAULT_REQUESTS: Record<Scenario, number> = { 'client-credentials': 4000, jwks: 3000, discovery: 3000, refresh: 2500, introspection: 4000, login: 100 };
// Without valgrind's 50-fold slow-down: enough requests for /proc's 10 ms ticks to be well under 1%.
const DEFAULT_CPU_REQUESTS: Record<Scenario, number> = { 'client-credentials': 20000, jwks: 40000, discovery: 40000, refresh: 10000, introspection: 20000, login: 300 };
/** Concurrent requests, as a few clients would send them. */
const CONCURRENCY = 4;
/** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

const { values } = parseArgs({ options: { build: { type: 'string' }, scenario: { type: 'string' }, requests: { type: 'string' }, cpu: { type: 'boolean' } } });
const scenario = values.scenario as Scenario;
if (!SCENARIOS.includes(scenario)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}`);
const build = path.resolve(values.build ?? path.join(import.meta.dirname, '..'));
const cpu = values.cpu === true;
const requests = Number(values.requests ?? (cpu ? DEFAULT_CPU_REQUESTS : DEFAULT_REQUESTS)[scenario]);

// The build's own modules: its config, schema and fixture, not this checkout's.
const from = (file: string) => import(path.join(build, file));
const { loadConfig } = await from('src/config/config.ts');
const { provisionLatchkey } = await from('bench/provision-latchkey.ts');
const { createBrowser } = await from('bench/login-flow.ts');
const { API, basicAuth } = await from('bench/fixture.ts');

const work = mkdtempSync(path.join(os.tmpdir(), 'latchkey-instructions-'));
const base = { databaseUrl: process.env.DATABASE_URL ?? `file:${path.join(work, 'latchkey.db')}`, dataDir: path.join(work, 'data') };
// As `npm run bench` runs it: production settings, one master secret.
const shared = { NODE_ENV: 'production', LOG_LEVEL: undefined, LATCHKEY_SECRET: randomBytes(32).toString('base64url'), LATCHKEY_AUTHORIZATIONS_PER_MINUTE: '1000000', LATCHKEY_PASSWORD_RESET: 'false' };
const credentials = await provisionLatchkey(loadConfig(testEnv({ ...base, port: 0 }, { ...shared, ISSUER: 'http://127.0.0.1' }), build), { adminClients: false });
const port = await freePort();
const issuer = `http://127.0.0.1:${port}`;
// callgrind_control finds the process by a pipe named after USER and HOST.
const env = { ...process.env, ...testEnv({ ...base, port }, shared), USER: process.env.USER ?? 'root', LOGNAME: process.env.LOGNAME ?? 'root' };
const out = path.join(work, 'callgrind.out');
const command = cpu ? [process.execPath, 'dist/app/src/main.js'] : ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, 'dist/app/src/main.js'];
const server = spawn(command[0]!, command.slice(1), { cwd: build, env, stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
server.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
let measured: Record<string, number> = {};
const callgrind = (...args: string[]) => execFileSync('callgrind_control', [...args, String(server.pid)], { env, stdio: 'ignore' });

try {
  for (let started = Date.now(); ; ) {
    const answer = await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined);
    if (answer?.ok) break;
    if (Date.now() - started > 120_000) throw new Error(`the server did not start:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const request = await scenarioRequest(scenario);
  const run = async (count: number) => {
    let left = count;
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => { while (left-- > 0) await request(worker); }));
  };
  await run(scenario === 'login' ? 20 : 300);
  if (cpu) {
    const before = { cpu: cpuTicks(server.pid!), wall: performance.now() };
    await run(requests);
    const used = cpuTicks(server.pid!);
    const perRequest = (ticks: number) => Math.round((ticks * 1e6) / TICKS_PER_SECOND / requests);
    measured = { userUsPerRequest: perRequest(used.user - before.cpu.user), sysUsPerRequest: perRequest(used.sys - before.cpu.sys), wallUsPerRequest: Math.round(((performance.now() - before.wall) * 1000) / requests) };
  } else {
    callgrind('-i', 'on');
    await run(requests);
    callgrind('-d');
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
}

if (!cpu) {
  let instructions = 0;
  for (const file of readdirSync(work).filter((name) => name.startsWith('callgrind.out'))) {
    instructions += Number(/^summary:\s*(\d+)/m.exec(readFileSync(path.join(work, file), 'utf8'))?.[1] ?? 0);
  }
  measured = { instructionsPerRequest: Math.round(instructions / requests) };
}
rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({ build, scenario, requests, ...measured }));

/** The process's CPU time so far, all threads, in clock ticks (proc(5): /proc/PID/stat fields 14 and 15). */
function cpuTicks(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), sys: Number(fields[12]) };
}

/** One request of the scenario (a whole login for `login`), by worker: each refreshing worker follows a chain of its own. */
async function scenarioRequest(name: Scenario): Promise<(worker: number) => Promise<void>> {
  const post = (url: string, client: { id: string; secret: string }, form: Record<string, string>) =>
    fetch(url, { method: 'POST', headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  const expectOk = async (response: Response) => {
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200) throw new Error(`${name}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  switch (name) {
    case 'client-credentials':
      return async () => void (await expectOk(await post(`${issuer}/token`, credentials.service, { grant_type: 'client_credentials', resource: API, scope: 'read' })));
    case 'jwks':
    case 'discovery': {
      const url = name === 'jwks' ? `${issuer}/jwks` : `${issuer}/.well-known/openid-configuration`;
      return async () => void (await expectOk(await fetch(url)));
    }
    case 'refresh': {
      const chains: string[] = [];
      for (let i = 0; i < CONCURRENCY; i++) chains.push((await createBrowser(issuer, credentials.web).login({ scope: 'openid offline_access read', resource: API, prompt: 'consent' })).refresh_token);
      return async (worker) => {
        const body = await expectOk(await post(`${issuer}/token`, credentials.web, { grant_type: 'refresh_token', refresh_token: chains[worker]! }));
        chains[worker] = String(body.refresh_token);
      };
    }
    case 'introspection': {
      const { access_token: token } = await createBrowser(issuer, credentials.web).login({ scope: 'openid' });
      const { introspection_endpoint: url } = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { introspection_endpoint: string };
      return async () => {
        const body = await expectOk(await post(url, credentials.web, { token }));
        if (body.active !== true) throw new Error('introspection: the token is not active');
      };
    }
    case 'login':
      return async () => void (await createBrowser(issuer, credentials.web).login({ scope: 'openid read', resource: API }));
  }
}
