// The shape every CLI command has: its usage line and options, a parse step
// that may only raise usage errors (it runs before the database is opened),
// and a run step that calls the services.
import type { ParseArgsConfig } from 'node:util';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { MigrationResult } from '../db/migrator.ts';
import type { KeyRotationService } from '../keys/key-rotation.ts';
import type { SecretRotationResult } from '../keys/secret-rotation.ts';
import type { MailService } from '../mail/mail-service.ts';
import type { Services } from '../services.ts';

export type OptionValue = string | boolean | string[] | undefined;

export interface ParsedArgs {
  readonly values: Readonly<Record<string, OptionValue>>;
  readonly positionals: readonly string[];
}

export interface CliInput {
  /** Where --password-stdin reads from. */
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface CommandContext {
  readonly services: Services;
  /** What the automatic migration at start-up applied. */
  readonly migration: MigrationResult;
  /** The issuer URL: mailed links are absolute, on its origin. */
  readonly issuer: string;
  /**
   * Queues mail as the server does (a MailOutbox row), built on first use.
   * The CLI sends nothing itself: a running server's sender delivers the row.
   */
  mail(): Pick<MailService, 'enqueue'>;
  /** Signing-key management; built on first use (it needs the master secret, which other commands never touch). */
  keys(): KeyRotationService;
  /** Re-seals the keys at rest from `previous` to the configured master secret (`secret rotate`). */
  resealKeys(previous: string): Promise<SecretRotationResult>;
  /**
   * Records the change just made as an audit event by the CLI, before the
   * command prints. Never throws: the change is done, and a secret it returns
   * must still be shown (a failure is one warning line on stderr).
   */
  audit(event: CliAuditEvent): Promise<void>;
}

export type CliAuditEvent = Omit<AuditEventInput, 'actor' | 'ip' | 'requestId'>;

export interface CommandOutput {
  /** The one object printed with --json. */
  readonly json: object;
  /** What a person reads otherwise. */
  readonly human: string;
}

interface CommandShape<Input> {
  /** After the group name, e.g. `create --name NAME [--public]`. */
  readonly usage: string;
  readonly summary: string;
  readonly options: OptionsConfig;
  /** Names of the required positional arguments, in order. */
  readonly arguments?: readonly string[];
  parse(args: ParsedArgs, input: CliInput): Input | Promise<Input>;
}

/** A command that works on the database through the services (the configuration is loaded and checked first). */
export interface ServiceCommand<Input = unknown> extends CommandShape<Input> {
  run(context: CommandContext, input: Input): Promise<CommandOutput>;
}

/**
 * A command that needs neither the configuration nor the database, so it
 * runs where they are not set up yet (`secret generate` makes the very
 * LATCHKEY_SECRET the configuration would refuse to start without).
 */
export interface StandaloneCommand<Input = unknown> extends CommandShape<Input> {
  readonly standalone: true;
  run(input: Input): CommandOutput;
}

export type Command<Input = unknown> = ServiceCommand<Input> | StandaloneCommand<Input>;

export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly commands: Readonly<Record<string, Command>>;
}

/** Keeps each command's Input type checked while groups hold them side by side. */
export function defineCommand<Input>(command: ServiceCommand<Input>): Command {
  return command as unknown as Command;
}

export function defineStandaloneCommand<Input>(command: Omit<StandaloneCommand<Input>, 'standalone'>): Command {
  return { ...command, standalone: true } as unknown as Command;
}
