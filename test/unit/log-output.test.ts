// The log output: lines gathered and written in order, nothing lost on flush,
// nothing written before the threshold, and a broken output never throws.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogOutput } from '../../src/log-output.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file() {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-log-output-'));
  dirs.push(dir);
  const name = path.join(dir, 'out.log');
  return { fd: openSync(name, 'w'), read: () => readFileSync(name, 'utf8') };
}

describe('log output', () => {
  it('holds lines until the threshold, then writes them in order; flush writes the rest', () => {
    const out = file();
    const output = createLogOutput(out.fd, { minLength: 100 });
    output.write('first line\n');
    output.write('second line, ü and 日本 (multi-byte)\n');
    expect(out.read()).toBe('');
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}\n`);
    for (const line of lines) output.write(line);
    const written = out.read();
    expect(written.length).toBeGreaterThan(0);
    output.flush();
    expect(out.read()).toBe(['first line\n', 'second line, ü and 日本 (multi-byte)\n', ...lines].join(''));
    expect(written).toBe(out.read().slice(0, written.length));
    closeSync(out.fd);
  });

  it('never throws into the code that logs when the output is broken', () => {
    // fd -1: every write fails (EBADF). Logging must go on; lines are dropped, bounded.
    const output = createLogOutput(-1, { minLength: 10, maxPending: 30 });
    expect(() => {
      for (let i = 0; i < 1000; i++) output.write('0123456789\n');
      output.flush();
    }).not.toThrow();
  });
});
