// What a server process costs, read from Linux's /proc: resident memory and
// CPU time (user + system, every thread included: libuv's pool runs argon2
// and crypto there). Read from outside the process, so measuring never adds
// work to the server being measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(ticks) && ticks > 0) return ticks;
  } catch {
    // getconf missing: Linux has used 100 on every common architecture for decades.
  }
  return 100;
}

const TICKS = clockTicksPerSecond();

/** Resident set size in bytes (VmRSS). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU seconds (utime + stime) the process has used since it started. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5); field 3 is the first after the name.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  return (utime + stime) / TICKS;
}

export interface UsageWindow {
  /** CPU seconds the process used inside the window. */
  readonly cpuSeconds: number;
  /** Largest RSS seen by the sampler inside the window, in bytes. */
  readonly peakRssBytes: number;
  readonly wallSeconds: number;
  /** CPU seconds of the database's processes inside the window, when a probe was given. */
  readonly databaseCpuSeconds?: number;
}

/**
 * Samples a process while something runs: call end() when it is over.
 * `databaseCpu` reads the CPU of other processes doing the server's work
 * (PostgreSQL backends); ones that appear inside the window count from zero.
 */
export function watchUsage(pid: number, databaseCpu?: () => Promise<Map<number, number>>, sampleMs = 200) {
  const databaseAtStart = databaseCpu?.();
  const startedCpu = cpuSeconds(pid);
  const startedAt = performance.now();
  let peak = residentBytes(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, residentBytes(pid));
    } catch {
      // The process exited: end() reports what was seen.
    }
  }, sampleMs);
  return {
    async end(): Promise<UsageWindow> {
      clearInterval(timer);
      peak = Math.max(peak, residentBytes(pid));
      const window = { cpuSeconds: cpuSeconds(pid) - startedCpu, peakRssBytes: peak, wallSeconds: (performance.now() - startedAt) / 1000 };
      if (!databaseCpu || !databaseAtStart) return window;
      const [before, after] = [await databaseAtStart, await databaseCpu()];
      let databaseCpuSeconds = 0;
      for (const [backend, seconds] of after) databaseCpuSeconds += seconds - (before.get(backend) ?? 0);
      return { ...window, databaseCpuSeconds };
    },
  };
}
