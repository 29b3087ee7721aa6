// When a mail that failed is tried again, and when it is given up: 5 s
// doubling each attempt (5 s, 10 s, 20 s… so a short outage costs seconds),
// never more than an hour apart (a long one is caught within the hour it
// ends), and given up a day after it was queued, long past any link in it.

export interface RetrySchedule {
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** Milliseconds after queueing when a mail still not sent is given up. */
  readonly giveUpAfterMs: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { firstDelayMs: 5_000, maxDelayMs: 3_600_000, giveUpAfterMs: 24 * 3_600_000 };

/** The wait after the `attempts`-th failed attempt (1 for the first). */
export function retryDelayMs(attempts: number, schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  return Math.min(schedule.firstDelayMs * 2 ** exponent, schedule.maxDelayMs);
}

/** Whether a mail queued at `createdAt` and failing at `now` is given up rather than retried. */
export function givesUp(createdAt: Date, now: Date, schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE): boolean {
  return now.getTime() - createdAt.getTime() >= schedule.giveUpAfterMs;
}
