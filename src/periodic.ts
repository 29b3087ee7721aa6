// Runs one background job on a timer: every loop in Latchkey (the purges, the
// registry and key-set watchers) is one of these, so they share one answer to
// the questions a hand-written loop gets wrong: runs never overlap (the next
// is scheduled only once the previous one has finished, however slow the
// database), a failed run is reported and the schedule kept, the timer never
// keeps the process alive, and stop() resolves once a run in progress is done.

export interface PeriodicOptions {
  /** What the job is called in logs and in the list of tasks. */
  readonly name: string;
  /**
   * One run. It may resolve with how many milliseconds until the next run,
   * when that is sooner than the interval (the key-set watcher wakes at the
   * next key activation); otherwise the next run comes one interval later.
   */
  readonly run: () => Promise<number | void>;
  readonly intervalMs: number;
  /** Called with whatever a run threw; the schedule is kept. */
  readonly onError: (error: unknown) => void;
  /** Delay before the first run, when sooner than the interval. */
  readonly firstRunInMs?: number;
}

export interface Periodic {
  readonly name: string;
  /** Runs the job now (after a run in progress, never beside it), then reschedules; resolves when that run is done. */
  runNow(): Promise<void>;
  /** Cancels the schedule and resolves once a run in progress has finished; no run starts afterwards. */
  stop(): Promise<void>;
}

// setTimeout's limit; anything later is reached through a shorter wait anyway.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function startPeriodic({ name, run, intervalMs, onError, firstRunInMs }: PeriodicOptions): Periodic {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`${name}: intervalMs must be a positive number of milliseconds`);
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void runNow();
    }, Math.max(0, Math.min(delayMs, intervalMs, MAX_TIMER_MS)));
    timer.unref();
  };

  const runOnce = async () => {
    if (stopped) return;
    let next: number | void = undefined;
    try {
      next = await run();
    } catch (error) {
      try {
        onError(error);
      } catch {
        // A failing error reporter must not stop the schedule.
      }
    }
    schedule(typeof next === 'number' ? next : intervalMs);
  };

  // A run asked for while another is in progress starts after it.
  function runNow(): Promise<void> {
    // The pending timer is replaced by the one this run sets when it ends.
    if (timer) clearTimeout(timer);
    timer = undefined;
    const current = (running ?? Promise.resolve()).then(runOnce);
    running = current;
    void current.finally(() => {
      if (running === current) running = undefined;
    });
    return current;
  }

  schedule(firstRunInMs ?? intervalMs);

  return {
    name,
    runNow,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
