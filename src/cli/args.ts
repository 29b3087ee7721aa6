// Command-line parsing on node:util's parseArgs, with every failure turned
// into a one-line UsageError that never repeats an option's value.
import { parseArgs } from 'node:util';
import type { OptionsConfig, OptionValue, ParsedArgs } from './command.ts';
import { UsageError } from './usage-error.ts';

export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

/** Refuses a password given as an argument before anything else looks at argv. */
export function refusePasswordArguments(argv: readonly string[]): void {
  if (argv.some((arg) => arg === '--password' || arg.startsWith('--password='))) {
    throw new UsageError('a password is never accepted as an argument (shell history, process list); pipe it in with --password-stdin');
  }
}

/** `name` is the command as typed (`client create`), for the hint in error messages. */
export function parseCommandArgs(name: string, argv: readonly string[], options: OptionsConfig, argumentNames: readonly string[]): ParsedArgs {
  const hint = `; see \`latchkey ${name} --help\``;
  let parsed: { values: Record<string, OptionValue>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, ...COMMON_OPTIONS }, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (error) {
    // Node's first sentence names the option ("Unknown option '--x'"), the rest is advice about '--'.
    const message = error instanceof Error ? (error.message.split(/\.\s/)[0] ?? error.message) : String(error);
    // Key ids are base64url and may start with '-': say how to pass one.
    const dashArgument = argumentNames.length > 0 && /^Unknown option '-[^-]/.test(message);
    throw new UsageError(`${message}${dashArgument ? `; an argument that starts with '-' goes after --, e.g. \`latchkey ${name} -- ${argumentNames[0]}\`` : hint}`);
  }
  if (parsed.values.help) return parsed;
  if (parsed.positionals.length < argumentNames.length) {
    throw new UsageError(`missing argument ${argumentNames[parsed.positionals.length]}${hint}`);
  }
  if (parsed.positionals.length > argumentNames.length) {
    // The extra argument is not echoed: it may be a secret typed in the wrong place.
    throw new UsageError(`${argumentNames.length === 0 ? 'this command takes no arguments' : `too many arguments (expected ${argumentNames.join(' ')})`}${hint}`);
  }
  return parsed;
}

export function requiredString(args: ParsedArgs, name: string): string {
  const value = args.values[name];
  if (typeof value !== 'string') throw new UsageError(`missing required option --${name}`);
  return value;
}

export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable option; each occurrence may also hold a comma-separated list when `commas` is set. */
export function stringList(args: ParsedArgs, name: string, { commas = false } = {}): string[] | undefined {
  const value = args.values[name];
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [String(value)];
  return commas ? list.flatMap((item) => item.split(',')) : list;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Whole seconds; anything else becomes NaN so the service reports it with its own rule. */
export function optionalInteger(args: ParsedArgs, name: string): number | undefined {
  const value = optionalString(args, name);
  if (value === undefined) return undefined;
  return /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
}
