// `npm run bench`: Latchkey and a bare oidc-provider side by side, each in a
// process of its own on loopback, under the same scenarios; prints a table
// and writes bench/results/<timestamp>-<dialect>.json.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
// The test helpers, not a copy: the bench runs through tsx like the tests and
// ships nowhere, so it may reach into test/; src/ must not carry test-only code.
import { freePort } from '../test/helpers/free-port.ts';
import { testEnv } from '../test/helpers/test-env.ts';
import { createBenchDatabase, type BenchDatabase } from './bench-database.ts';
import { formatProfile, summariseProfile } from './cpu-profile-summary.ts';
import type { Credentials } from './fixture.ts';
import { parseOptions, USAGE, type BenchOptions } from './options.ts';
import { residentBytes } from './process-stats.ts';
import { provisionAdminClient, provisionLatchkey } from './provision-latchkey.ts';
import type { Measurement } from './http-load.ts';
import { queriesPerOp, takeQuerySnapshot, type QueriesPerOp, type QuerySnapshot } from './query-snapshots.ts';
import { createReferenceConfig } from './reference-config.ts';
import { checkTargets, formatReport, type BenchReport, type ScenarioResult, type ServerFacts } from './report.ts';
import { SCENARIOS, type Target } from './scenarios.ts';
import { launchServer, type ServerProcess } from './server-process.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SETTLE_MS = 1000;

/** Only what a process needs to run: the caller's LATCHKEY_* or DATABASE_URL must not leak into a server. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  return Object.fromEntries(keep.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssMb = (pid: number) => residentBytes(pid) / 2 ** 20;

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${commit}+uncommitted` : commit;
  } catch {
    return 'unknown';
  }
}

/** The round with the median rate, carrying every round's rate so the spread is on record. */
function median(rounds: readonly Measurement[]): Measurement {
  const sorted = [...rounds].sort((a, b) => a.rate - b.rate);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return rounds.length > 1 ? { ...middle, roundRates: rounds.map((r) => r.rate) } : middle;
}

interface Launcher {
  launch(): Promise<ServerProcess>;
}

interface Setup {
  readonly launcher: Launcher;
  readonly credentials: Credentials;
  readonly queryLog?: string;
}

/**
 * Provisions the database once; each call of the result prepares one more
 * Latchkey process on it (its own port and issuer, the same clients, keys
 * and master secret), as instances behind a load balancer share one.
 */
async function provisionForLatchkey(database: BenchDatabase, workDir: string, options: BenchOptions): Promise<(index: number) => Promise<Setup>> {
  const base = { databaseUrl: database.url, dataDir: path.join(workDir, 'latchkey-data') };
  // The test environment with production settings, as an operator runs it
  // (production's own log level, info: one access-log line per request), and
  // one master secret for every instance.
  const shared = {
    NODE_ENV: 'production',
    LOG_LEVEL: undefined,
    LATCHKEY_SECRET: randomBytes(32).toString('base64url'),
    // Every simulated person signs in from 127.0.0.1: the per-address bound on /auth would measure itself.
    LATCHKEY_AUTHORIZATIONS_PER_MINUTE: '1000000',
    // No mail server in the bench: password reset would need one in production.
    LATCHKEY_PASSWORD_RESET: 'false',
  };
  // The Admin API scenario lists 1,000 clients: provisioned only when it runs.
  const adminClients = !options.only.length || options.only.includes('admin-clients');
  const provisioned = await provisionLatchkey(loadConfig(testEnv({ ...base, port: 0 }, { ...shared, ISSUER: 'http://127.0.0.1' }), ROOT), { adminClients });
  return (index) => prepareLatchkey((port) => testEnv({ ...base, port }, shared), provisioned, workDir, options, index, adminClients);
}

async function prepareLatchkey(
  envFor: (port: number) => Record<string, string>,
  provisioned: Omit<Credentials, 'issuer'>,
  workDir: string,
  options: BenchOptions,
  index: number,
  adminClient = false,
): Promise<Setup> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const queryLog = options.profile ? path.join(workDir, 'latchkey-queries.json') : undefined;
  const env = envFor(port);
  const admin = adminClient ? await provisionAdminClient(loadConfig(env, ROOT)) : undefined;
  // What `npm start` runs: the compiled server (built by build() below).
  const nodeArgs = [
    ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(workDir, 'profile-latchkey')}`, '--import', './dist/bench/bench/query-counter.js'] : []),
    'dist/app/src/main.js',
  ];
  return {
    credentials: { issuer, ...provisioned, ...(admin && { admin }) },
    queryLog,
    launcher: {
      launch: () =>
        launchServer({
          name: 'Latchkey',
          nodeArgs,
          env: { ...baseEnv(), ...env, ...(queryLog && { BENCH_QUERY_LOG: queryLog }) },
          issuer,
          logFile: path.join(workDir, index === 0 ? 'latchkey.log' : `latchkey-${index}.log`),
          cwd: ROOT,
        }),
    },
  };
}

async function prepareReference(workDir: string, options: BenchOptions, index: number): Promise<Setup> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = await createReferenceConfig(issuer, port);
  const file = path.join(workDir, index === 0 ? 'reference-config.json' : `reference-config-${index}.json`);
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  const client = { id: config.client.id, secret: config.client.secret };
  return {
    credentials: { issuer, service: client, web: client, exchanger: client },
    launcher: {
      launch: () =>
        launchServer({
          name: 'reference',
          nodeArgs: [...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(workDir, 'profile-reference')}`] : []), 'dist/bench/bench/reference-server.js'],
          env: { ...baseEnv(), NODE_ENV: 'production', BENCH_REFERENCE_CONFIG: file },
          issuer,
          logFile: path.join(workDir, index === 0 ? 'reference.log' : `reference-${index}.log`),
          cwd: ROOT,
        }),
    },
  };
}

/**
 * Both servers run as compiled JavaScript, never through tsx: Latchkey as
 * `npm start` runs it (dist/app, from `npm run build`), the reference and the
 * query counter from bench/tsconfig.build.json. Both builds are incremental.
 */
function build(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'bench/tsconfig.build.json'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** The main thread's profile: --cpu-prof writes one per thread. */
function mainThreadProfile(dir: string): string | undefined {
  try {
    const main = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    return main && path.join(dir, main);
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2), path.join(ROOT, 'bench', 'results'));
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options = parsed;
  const unknown = options.only.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const scenarios = SCENARIOS.filter((s) => !options.only.length || options.only.includes(s.id));

  const startedAt = new Date();
  const loadBefore = os.loadavg();
  process.stderr.write('bench: building dist/app and dist/bench\n');
  build();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-bench-'));
  const database = await createBenchDatabase(process.env.DATABASE_URL, workDir);
  const running: ServerProcess[] = [];
  const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
  try {
    log(`${database.dialect}; work directory ${workDir}`);
    const prepareLatchkeyProcess = await provisionForLatchkey(database, workDir, options);
    // Each round runs on a pair of processes of its own: the same build in
    // two processes differed by up to ~8% in CPU per token (where the JIT and
    // the allocator happened to put things), so with --rounds the median is
    // taken over processes, not only over time. One pair with --profile (a
    // profile is of one process). Pair 0 also gives the start-up and memory
    // figures.
    const pairCount = options.profile ? 1 : options.rounds;
    const setups: { latchkey: Setup; reference: Setup }[] = [];
    for (let index = 0; index < pairCount; index++) {
      setups.push({ latchkey: await prepareLatchkeyProcess(index), reference: await prepareReference(workDir, options, index) });
    }
    const latchkeySetup = setups[0]!.latchkey;
    const referenceSetup = setups[0]!.reference;

    const start = async (launcher: Launcher) => {
      const server = await launcher.launch();
      running.push(server);
      return server;
    };
    let latchkey = await start(latchkeySetup.launcher);
    let reference = await start(referenceSetup.launcher);
    const firstBoot = { latchkey: latchkey.startupMs, reference: reference.startupMs };
    await sleep(SETTLE_MS);
    const idleAfterStart = { latchkey: rssMb(latchkey.pid), reference: rssMb(reference.pid) };
    log(`started: Latchkey ${latchkey.startupMs.toFixed(0)} ms, reference ${reference.startupMs.toFixed(0)} ms`);

    const targetsOf = (pair: { latchkey: ServerProcess; reference: ServerProcess }, setup: (typeof setups)[number]) => ({
      latchkey: { name: 'latchkey', pid: pair.latchkey.pid, issuer: pair.latchkey.issuer, credentials: setup.latchkey.credentials } satisfies Target,
      reference: { name: 'reference', pid: pair.reference.pid, issuer: pair.reference.issuer, credentials: setup.reference.credentials } satisfies Target,
    });
    const pairTargets = [targetsOf({ latchkey, reference }, setups[0]!)];
    const otherPairs: ServerProcess[] = [];
    for (const setup of setups.slice(1)) {
      const pair = { latchkey: await start(setup.latchkey.launcher), reference: await start(setup.reference.launcher) };
      otherPairs.push(pair.latchkey, pair.reference);
      pairTargets.push(targetsOf(pair, setup));
    }
    if (pairCount > 1) log(`${pairCount} pairs of server processes, one per round`);

    const results: ScenarioResult[] = [];
    const databaseCpu = database.backendCpu && (() => database.backendCpu!());
    for (const scenario of scenarios) {
      const queryLog = latchkeySetup.queryLog;
      const rounds: { latchkey: Measurement[]; reference: Measurement[] } = { latchkey: [], reference: [] };
      let queries: QueriesPerOp | undefined;
      // Alternating rounds, so a burst of load from elsewhere on the machine
      // hits both servers rather than whichever happened to be running.
      for (let round = 0; round < options.rounds; round++) {
        const targets = pairTargets[round % pairTargets.length]!;
        log(`${scenario.id}: Latchkey${options.rounds > 1 ? ` (round ${round + 1} of ${options.rounds})` : ''}`);
        let before: QuerySnapshot | undefined;
        let after: QuerySnapshot | undefined;
        const window =
          queryLog && scenario.http && round === 0
            ? { begin: async () => void (before = await takeQuerySnapshot(targets.latchkey.pid, queryLog)), end: async () => void (after = await takeQuerySnapshot(targets.latchkey.pid, queryLog)) }
            : undefined;
        const l = await scenario.run(targets.latchkey, { ...options, ...(window && { window }), ...(databaseCpu && { databaseCpu }) });
        if (before && after) queries = queriesPerOp(before, after, l.ok);
        rounds.latchkey.push(l);
        if (scenario.latchkeyOnly) continue;
        log(`${scenario.id}: reference`);
        rounds.reference.push(await scenario.run(targets.reference, options));
      }
      results.push({
        id: scenario.id,
        title: scenario.title,
        unit: scenario.unit,
        latchkey: { ...median(rounds.latchkey), ...(queries && { queries }) },
        ...(rounds.reference.length > 0 && { reference: median(rounds.reference) }),
      });
    }

    for (const server of otherPairs) {
      running.splice(running.indexOf(server), 1);
      await server.stop();
    }
    await sleep(SETTLE_MS * 2);
    const soonAfterLoad = { latchkey: rssMb(latchkey.pid), reference: rssMb(reference.pid) };
    // A server at rest: V8 shrinks its heap only after allocation has been
    // low for a while (its memory reducer starts ~8 s after, repeats if
    // worth it), so a reading right after the load counts the load's garbage.
    if (options.idleSeconds > 2) log(`waiting ${options.idleSeconds} s for idle memory`);
    await sleep(Math.max(0, options.idleSeconds * 1000 - SETTLE_MS * 2));
    const idleAfterLoad = { latchkey: rssMb(latchkey.pid), reference: rssMb(reference.pid) };
    const memoryAfterLoad = latchkeySetup.queryLog ? (await takeQuerySnapshot(latchkey.pid, latchkeySetup.queryLog)).memory : undefined;
    const peak = (name: 'latchkey' | 'reference') => Math.max(0, ...results.map((s) => s[name]?.peakRssMb ?? 0));

    let restart: { latchkey?: number; reference?: number } = {};
    if (!options.profile) {
      // A restart on the same database: what scaling out or a deploy costs.
      for (const server of running.splice(0)) await server.stop();
      latchkey = await start(latchkeySetup.launcher);
      reference = await start(referenceSetup.launcher);
      restart = { latchkey: latchkey.startupMs, reference: reference.startupMs };
    }
    for (const server of running.splice(0)) await server.stop();

    const facts = (name: 'latchkey' | 'reference'): ServerFacts => ({
      firstBootMs: firstBoot[name],
      ...(restart[name] !== undefined && { restartMs: restart[name] }),
      idleRssMbAfterStart: idleAfterStart[name],
      rssMbSoonAfterLoad: soonAfterLoad[name],
      idleRssMbAfterLoad: idleAfterLoad[name],
      idleSecondsAfterLoad: Math.max(options.idleSeconds, (SETTLE_MS * 2) / 1000),
      peakRssMbUnderLoad: peak(name),
    });
    const servers = { latchkey: facts('latchkey'), reference: facts('reference') };

    let profiles: BenchReport['profiles'];
    if (options.profile) {
      const latchkeyProfile = mainThreadProfile(path.join(workDir, 'profile-latchkey'));
      const referenceProfile = mainThreadProfile(path.join(workDir, 'profile-reference'));
      profiles = {
        scenario: scenarios.map((s) => s.id).join(','),
        ...(memoryAfterLoad && { latchkeyMemoryAfterLoad: memoryAfterLoad }),
        ...(latchkeyProfile && { latchkey: summariseProfile(latchkeyProfile) }),
        ...(referenceProfile && { reference: summariseProfile(referenceProfile) }),
      };
    }

    const report: BenchReport = {
      version: 1,
      startedAt: startedAt.toISOString(),
      dialect: database.dialect,
      quick: options.quick,
      machine: { node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadBefore, loadAfter: os.loadavg(), commit: gitCommit() },
      options: { seconds: options.seconds, rounds: options.rounds, warmupSeconds: options.warmupSeconds, connections: options.connections, loginConcurrency: options.loginConcurrency, only: options.only, profile: options.profile },
      scenarios: results,
      servers,
      targets: checkTargets(database.dialect, results, servers),
      ...(profiles && { profiles }),
    };

    process.stdout.write(`\n${formatReport(report)}\n`);
    if (profiles?.latchkey) process.stdout.write(`\n${formatProfile(`Latchkey CPU profile (${profiles.scenario})`, profiles.latchkey)}\n`);
    if (profiles?.reference) process.stdout.write(`\n${formatProfile(`reference CPU profile (${profiles.scenario})`, profiles.reference)}\n`);

    mkdirSync(options.outDir, { recursive: true });
    const file = path.join(options.outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}-${database.dialect}${options.profile ? '-profile' : ''}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)}\n`);
  } finally {
    for (const server of running) await server.stop().catch(() => {});
    // --keep keeps a SQLite file (it is in the work directory); a PostgreSQL database is always dropped.
    if (!(options.keep && database.dialect === 'sqlite')) {
      await database.drop().catch((error: unknown) => log(`could not drop the bench database: ${(error as Error).message}`));
    }
    if (options.keep) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
