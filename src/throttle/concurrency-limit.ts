// A semaphore whose bounded waiting line is shared fairly among sources (the
// client address a sign-in comes from). Password checks go through one:
// argon2 runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE
// says otherwise), which WebCrypto also uses to sign tokens, so a flood of
// sign-ins left unbounded would take every thread and stall token issuance.
// With one line for everyone, whoever floods would own it and every other
// sign-in would be "busy". So the next to run is the first waiter of the
// source whose claim is oldest: the turn it was last served at, or, for a
// source not served before, the moment its line formed (ties: in order of
// arrival). A flood is served, and its claim renewed, over and over; a
// person who signs in now and then comes back with an old claim and goes
// first. And no source waits behind more than one turn of each other
// source: any source ahead of it has a claim older than its own until it is
// served. When the line is full, a source with nobody waiting takes the
// place of the newest waiter of the longest line. A source can then be
// refused only when every waiting place belongs to a source with as few
// waiting as it would have: with fewer sources waiting than places, never.
import { LRUCache } from 'lru-cache';

export interface ConcurrencyLimitOptions {
  /** Tasks running at once. */
  readonly concurrency: number;
  /** Tasks waiting at most, all sources together. */
  readonly queue: number;
}

/** What became of a task: it ran (and gave `value`), or it was refused a place and never ran. */
export type Admission<T> = { readonly ran: true; readonly value: T } | { readonly ran: false };

interface Waiter {
  start(): void;
  refuse(): void;
}

export function createConcurrencyLimit({ concurrency, queue }: ConcurrencyLimitOptions) {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a whole number of at least 1');
  if (!Number.isInteger(queue) || queue < 0) throw new RangeError('queue must be a whole number of at least 0');

  let running = 0;
  let waiting = 0;
  // Each source's waiters in arrival order, with the claim it has if it was
  // never served (just before the next turn when its line formed) and its
  // place in arrival order (at most `queue` lines).
  const lines = new Map<string, { readonly waiters: Waiter[]; readonly claim: number; readonly arrival: number }>();
  // The turn each source was last served at (a count of turns, not a clock);
  // a source forgotten here claims from when its line formed, like a new one.
  const lastServed = new LRUCache<string, number>({ max: 10_000 });
  let turns = 0;
  let arrivals = 0;

  const next = (): Waiter | undefined => {
    let chosen: string | undefined;
    let best: [number, number] | undefined;
    for (const [source, line] of lines) {
      const rank: [number, number] = [lastServed.get(source) ?? line.claim, line.arrival];
      if (!best || rank[0] < best[0] || (rank[0] === best[0] && rank[1] < best[1])) [chosen, best] = [source, rank];
    }
    if (chosen === undefined) return undefined;
    const line = lines.get(chosen)!;
    const waiter = line.waiters.shift()!;
    if (line.waiters.length === 0) lines.delete(chosen);
    lastServed.set(chosen, turns++);
    waiting--;
    return waiter;
  };

  const release = () => {
    const waiter = next();
    // The slot passes straight to the next waiter, so `running` never overshoots.
    if (waiter) waiter.start();
    else running--;
  };

  /** With the line full: frees a place for `source` if some line is longer than its own would be. */
  const makeRoom = (source: string): boolean => {
    const own = lines.get(source)?.waiters.length ?? 0;
    let longest: [string, Waiter[]] | undefined;
    for (const [source, line] of lines) if (!longest || line.waiters.length > longest[1].length) longest = [source, line.waiters];
    if (!longest || longest[1].length <= own + 1) return false;
    const [longestSource, waiters] = longest;
    waiters.pop()!.refuse();
    if (waiters.length === 0) lines.delete(longestSource);
    waiting--;
    return true;
  };

  async function execute<T>(task: () => Promise<T>): Promise<Admission<T>> {
    try {
      return { ran: true, value: await task() };
    } finally {
      release();
    }
  }

  return {
    /**
     * Runs `task` now, or once it is its source's turn; `{ ran: false }` (and
     * `task` never runs) when no place is left for it, or its place is later
     * given to a source with nobody waiting.
     */
    run<T>(source: string, task: () => Promise<T>): Promise<Admission<T>> {
      if (running < concurrency) {
        running++;
        lastServed.set(source, turns++);
        return execute(task);
      }
      if (waiting >= queue && !makeRoom(source)) return Promise.resolve({ ran: false });
      return new Promise<boolean>((resolve) => {
        const line = lines.get(source);
        const waiter = { start: () => resolve(true), refuse: () => resolve(false) };
        if (line) line.waiters.push(waiter);
        else lines.set(source, { waiters: [waiter], claim: turns - 0.5, arrival: arrivals++ });
        waiting++;
      }).then((started) => (started ? execute(task) : { ran: false as const }));
    },

    get running(): number {
      return running;
    },

    get waiting(): number {
      return waiting;
    },
  };
}

export type ConcurrencyLimit = ReturnType<typeof createConcurrencyLimit>;
