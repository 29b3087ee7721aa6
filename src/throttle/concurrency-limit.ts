// A semaphore with a bounded queue. Password checks go through one: argon2
// runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says
// otherwise), which WebCrypto also uses to sign tokens, so a flood of sign-ins
// left unbounded would take every thread and stall token issuance. With the
// queue full, a task is refused at once instead of waiting without bound.

export interface ConcurrencyLimitOptions {
  /** Tasks running at once. */
  readonly concurrency: number;
  /** Tasks waiting at most; one more is refused. */
  readonly queue: number;
}

export function createConcurrencyLimit({ concurrency, queue }: ConcurrencyLimitOptions) {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a whole number of at least 1');
  if (!Number.isInteger(queue) || queue < 0) throw new RangeError('queue must be a whole number of at least 0');

  let running = 0;
  const waiting: (() => void)[] = [];

  const release = () => {
    const next = waiting.shift();
    // The slot passes straight to the next waiter, so `running` never overshoots.
    if (next) next();
    else running--;
  };

  async function run<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } finally {
      release();
    }
  }

  return {
    /**
     * Runs `task` now, or once the tasks ahead of it are done; undefined
     * (and `task` never runs) when the queue is full.
     */
    tryRun<T>(task: () => Promise<T>): Promise<T> | undefined {
      if (running < concurrency) {
        running++;
        return run(task);
      }
      if (waiting.length >= queue) return undefined;
      return new Promise<void>((resolve) => waiting.push(resolve)).then(() => run(task));
    },

    get running(): number {
      return running;
    },

    get waiting(): number {
      return waiting.length;
    },
  };
}

export type ConcurrencyLimit = ReturnType<typeof createConcurrencyLimit>;
