// The command line of `npm run bench -- …`. Defaults give the full run;
// --quick is the short one CI runs.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly quick: boolean;
  readonly seconds: number;
  /** Alternating rounds per scenario and server, each on its own pair of processes; the median round is reported. */
  readonly rounds: number;
  readonly warmupSeconds: number;
  /** Seconds of quiet after the last scenario before "idle after load" RSS is read. */
  readonly idleSeconds: number;
  readonly connections: number;
  readonly loginConcurrency: number;
  /** Scenario ids to run; all when empty. */
  readonly only: readonly string[];
  /** CPU-profile both servers and count Latchkey's SQL statements per operation. */
  readonly profile: boolean;
  readonly outDir: string;
  /** Keep the temporary directory (server logs, profiles) instead of removing it. */
  readonly keep: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--seconds N] [--rounds N] [--warmup N] [--idle N] [--connections N]
                        [--logins N] [--only id,id] [--profile] [--out DIR] [--keep]
  --quick        ~2 s per scenario (what CI runs)
  --seconds N    measured seconds per scenario and server (default 10; 2 with --quick)
  --rounds N     alternate Latchkey and the reference N times per scenario, each round on
                 a pair of server processes of its own, and report the median round
                 (default 1; use 3+: processes of one build differ by several percent)
  --warmup N     unmeasured seconds before each (default 2; 0.5 with --quick)
  --idle N       quiet seconds after the load before idle RSS is read (default 30; 2 with
                 --quick): V8 gives memory back ~10-30 s after allocation slows down
  --connections  concurrent HTTP connections (default 10)
  --logins N     people signing in concurrently in the login scenario (default 4)
  --only         scenarios: client-credentials, jwks, discovery, refresh, introspection, login, verify-offline, token-exchange,
                 admin-clients (Latchkey only: the Admin API listing 50 of 1,000 clients)
  --profile      node --cpu-prof both servers and count Latchkey's SQL per operation
                 (only client-credentials unless --only says otherwise)
  --out DIR      where the JSON result goes (default bench/results)
  --keep         keep the temporary directory (logs, profiles, the SQLite file)
DATABASE_URL=postgresql://… benches on a fresh database on that server (dropped afterwards).`;

function number(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number, got "${raw}"`);
  return value;
}

export function parseOptions(argv: readonly string[], defaultOutDir: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      idle: { type: 'string' },
      connections: { type: 'string' },
      logins: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick!;
  return {
    quick,
    seconds: number(values.seconds, quick ? 2 : 10, 'seconds'),
    rounds: Math.max(1, Math.round(number(values.rounds, 1, 'rounds'))),
    warmupSeconds: number(values.warmup, quick ? 0.5 : 2, 'warmup'),
    idleSeconds: number(values.idle, quick ? 2 : 30, 'idle'),
    connections: Math.max(1, Math.round(number(values.connections, 10, 'connections'))),
    loginConcurrency: Math.max(1, Math.round(number(values.logins, 4, 'logins'))),
    // A profile is of the whole server process: one scenario at a time keeps it readable.
    only: values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : values.profile ? ['client-credentials'] : [],
    profile: values.profile!,
    outDir: values.out ?? defaultOutDir,
    keep: values.keep!,
  };
}
