// Load from autocannon on loopback, bounded in time and connections, with the
// server process's own CPU and memory watched from /proc while it runs.
import autocannon from 'autocannon';
import { watchUsage } from './process-stats.ts';

export interface RequestSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Rewrites each request just before it is sent (a fresh refresh token, for instance). */
  readonly setupRequest?: (request: autocannon.Request) => autocannon.Request;
  readonly onResponse?: (status: number, body: string) => void;
}

export interface LoadOptions {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Called around the measured part only (after warm-up), e.g. to count database statements. */
  readonly window?: MeasuredWindow;
  /** CPU seconds so far per database server process (PostgreSQL), to charge the database's work too. */
  readonly databaseCpu?: () => Promise<Map<number, number>>;
}

export interface MeasuredWindow {
  begin(): Promise<void>;
  end(): Promise<void>;
}

/** One scenario on one server. Rates count successful (2xx) operations only. */
export interface Measurement {
  /** Successful operations per second. */
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ok: number;
  readonly failed: number;
  /** Server CPU milliseconds per successful operation; absent for in-process work. */
  readonly cpuMsPerOp?: number;
  /** PostgreSQL only: CPU milliseconds its backends spent per successful operation. */
  readonly databaseCpuMsPerOp?: number;
  /** How many cores the server kept busy on average (CPU seconds / wall seconds). */
  readonly serverCores?: number;
  readonly peakRssMb?: number;
  readonly note?: string;
  /** With --rounds: every round's rate (this measurement is the median round). */
  readonly roundRates?: number[];
}

function run(url: string, spec: RequestSpec, connections: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: spec.method,
        path: spec.path,
        headers: spec.headers ?? {},
        ...(spec.body !== undefined && { body: spec.body }),
        ...(spec.setupRequest && { setupRequest: spec.setupRequest }),
        ...(spec.onResponse && { onResponse: (status: number, body: string) => spec.onResponse!(status, body) }),
      },
    ],
  });
}

export async function measureHttp(server: { issuer: string; pid: number }, spec: RequestSpec, options: LoadOptions): Promise<Measurement> {
  if (options.warmupSeconds > 0) await run(server.issuer, spec, options.connections, options.warmupSeconds);
  await options.window?.begin();
  const usage = watchUsage(server.pid, options.databaseCpu);
  const result = await run(server.issuer, spec, options.connections, options.seconds);
  const window = await usage.end();
  await options.window?.end();
  const ok = result['2xx'];
  const failed = result.non2xx + result.errors;
  return {
    rate: ok / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok,
    failed,
    ...(ok > 0 && { cpuMsPerOp: (window.cpuSeconds * 1000) / ok }),
    ...(ok > 0 && window.databaseCpuSeconds !== undefined && { databaseCpuMsPerOp: (window.databaseCpuSeconds * 1000) / ok }),
    serverCores: window.cpuSeconds / window.wallSeconds,
    peakRssMb: window.peakRssBytes / 2 ** 20,
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
