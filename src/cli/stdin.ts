// Reads a secret piped to the CLI on stdin, so it never appears in argv
// (visible in `ps` and shell history).
import type { CliInput } from './command.ts';
import { UsageError } from './usage-error.ts';

// Far above any accepted password, low enough that a wrong pipe cannot fill memory.
const MAX_BYTES = 64 * 1024;

/** The whole of stdin as UTF-8, minus one trailing newline (what `echo` and here-strings add). */
export async function readSecretFromStdin({ stdin }: CliInput): Promise<string> {
  if (stdin.isTTY) {
    throw new UsageError('--password-stdin reads a pipe, not a terminal: e.g. `latchkey user create --email E --password-stdin < password.txt`');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_BYTES) throw new UsageError(`stdin holds more than ${MAX_BYTES} bytes; expected one password`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
