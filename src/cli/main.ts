// Entry point of the `latchkey` CLI (bin/latchkey.js imports this module).
import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
