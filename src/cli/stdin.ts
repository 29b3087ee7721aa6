// Reads a secret piped to the CLI on stdin, so it never appears in argv
// (visible in `ps` and shell history).
import type { CliInput } from './command.ts';
import { UsageError } from './usage-error.ts';

// Far above any accepted password, low enough that a wrong pipe cannot fill memory.
const MAX_BYTES = 64 * 1024;

const PASSWORD_OPTION = { name: '--password-stdin', example: 'latchkey user create --email E --password-stdin < password.txt' } as const;

/**
 * The whole of stdin as UTF-8, minus one trailing newline (what `echo` and
 * here-strings add). `option` names the flag that asked, for the message
 * when stdin is a terminal.
 */
export async function readSecretFromStdin({ stdin }: CliInput, option: { readonly name: string; readonly example: string } = PASSWORD_OPTION): Promise<string> {
  if (stdin.isTTY) {
    throw new UsageError(`${option.name} reads a pipe, not a terminal: e.g. \`${option.example}\``);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_BYTES) throw new UsageError(`stdin holds more than ${MAX_BYTES} bytes; expected one secret`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
