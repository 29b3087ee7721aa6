// Deletes expired oidc-provider artifacts on a timer. Expired rows are already
// invisible to the adapter; this only keeps the table from growing forever.
import type { ArtifactRepository } from './artifact-repository.ts';

export interface ArtifactPurgerOptions {
  readonly artifacts: Pick<ArtifactRepository, 'purgeExpired'>;
  readonly intervalMs: number;
  /** Called with whatever a run threw; the purger keeps its schedule. */
  readonly onError: (error: unknown) => void;
  /** Called after each run with the number of rows deleted. */
  readonly onPurged?: (count: number) => void;
  /** Most rows one run deletes, so stop() never waits on a huge backlog; the next run continues. */
  readonly maxPerRun?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export interface ArtifactPurger {
  /** Cancels the schedule and resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

export function startArtifactPurger(options: ArtifactPurgerOptions): ArtifactPurger {
  const { artifacts, intervalMs, onError, onPurged, maxPerRun = 10_000, now = Date.now } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError('intervalMs must be a positive number of milliseconds');
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const run = async () => {
    try {
      const count = await artifacts.purgeExpired(new Date(now()), maxPerRun);
      onPurged?.(count);
    } catch (error) {
      try {
        onError(error);
      } catch {
        // A failing error reporter must not stop the schedule.
      }
    }
  };

  // The next run is scheduled only when the previous one has finished, so
  // runs never overlap however slow the database is.
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = run().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    timer.unref();
  };

  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
