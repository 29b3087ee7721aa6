// Where log lines go: gathered in memory and written to a file descriptor
// (stdout) in large synchronous writes, in order.
//
// Why not pino.destination (sonic-boom): with a buffer (minLength) it
// measures the UTF-8 length of everything already buffered on every line
// (Buffer.byteLength of a growing string), so a line costs more the larger
// the buffer: 5 µs a line at 4 KiB, 11 µs at 32 KiB, against about 1 µs for
// pino's own formatting (scratch measurements, 2026-11-29). Without a buffer
// it is one write(2) a line. Here a line is an array push; the chunk is
// joined and written once it reaches `minLength` characters.
//
// Writes are synchronous, as pino's default destination's are: lines are
// never reordered or half-written, and a flush at exit is complete. If the
// reader of stdout stalls, the process waits for it, as with any
// synchronous logger. An fd in non-blocking mode (a pipe Node has touched)
// may answer EAGAIN: the write is retried for a moment, then the rest is
// kept for the next flush. Memory is bounded: past `maxPending` characters
// lines are dropped, and a line saying how many is written when output
// resumes.
import { writeSync } from 'node:fs';

export interface LogOutputOptions {
  /** Characters gathered before a write. */
  readonly minLength?: number;
  /** Characters kept at most while the output cannot be written to. */
  readonly maxPending?: number;
}

export interface LogOutput {
  write(line: string): void;
  /** Writes everything gathered so far, synchronously. */
  flush(): void;
}

/** How long one flush waits for a full non-blocking pipe before keeping the rest for later. */
const EAGAIN_PATIENCE_MS = 100;

export function createLogOutput(fd: number, { minLength = 32 * 1024, maxPending = 16 * 1024 * 1024 }: LogOutputOptions = {}): LogOutput {
  let pending: string[] = [];
  let length = 0;
  let dropped = 0;
  let flushing = false;

  function flush(): void {
    if (length === 0 || flushing) return;
    flushing = true;
    try {
      if (dropped > 0) {
        pending.unshift(`${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: `${dropped} log lines were dropped: the log output was not accepting writes` })}\n`);
        dropped = 0;
      }
      let data = Buffer.from(pending.join(''), 'utf8');
      const lines = pending.length;
      pending = [];
      length = 0;
      const giveUpAt = Date.now() + EAGAIN_PATIENCE_MS;
      while (data.length > 0) {
        try {
          data = data.subarray(writeSync(fd, data));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN' && Date.now() < giveUpAt) {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
            continue;
          }
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
            // Still full: keep the rest, in order, for the next flush.
            pending = [data.toString('utf8')];
            length = pending[0]!.length;
          } else {
            // A closed or broken output: there is nowhere to report it; count what is lost.
            dropped += lines;
          }
          return;
        }
      }
    } finally {
      flushing = false;
    }
  }

  return {
    write(line) {
      if (length + line.length > maxPending) {
        dropped += 1;
        return;
      }
      pending.push(line);
      length += line.length;
      if (length >= minLength) flush();
    },
    flush,
  };
}
