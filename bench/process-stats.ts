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
}

/** Samples a process while something runs: call end() when it is over. */
export function watchUsage(pid: number, sampleMs = 200) {
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
    end(): UsageWindow {
      clearInterval(timer);
      peak = Math.max(peak, residentBytes(pid));
      return { cpuSeconds: cpuSeconds(pid) - startedCpu, peakRssBytes: peak, wallSeconds: (performance.now() - startedAt) / 1000 };
    },
  };
}
