// Runs one CLI invocation: resolve the command, parse its arguments (usage
// errors stop here, before any I/O), load the configuration, open and migrate
// the database, call the services, print the result, close the database.
// Returns the exit status instead of exiting so output is always flushed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CLI_ACTOR } from '../audit/audit-event.ts';
import { loadConfig } from '../config/config.ts';
import { openDatabase } from '../db/database.ts';
import { migrate } from '../db/migrator.ts';
import { LatchkeyError } from '../errors.ts';
import { createKeys, type Keys } from '../keys/create-keys.ts';
import { createSealer } from '../keys/sealing.ts';
import { createSecretRotation } from '../keys/secret-rotation.ts';
import { createMailOutboxRepository } from '../mail/mail-outbox-repository.ts';
import { createMailService, type MailService } from '../mail/mail-service.ts';
import { createMailTemplates } from '../mail/mail-templates.ts';
import type { Log } from '../log.ts';
import { packageRoot } from '../paths.ts';
import { createServices } from '../services.ts';
import { parseCommandArgs, refusePasswordArguments } from './args.ts';
import type { CliAuditEvent, CliInput, Command, CommandGroup, CommandOutput } from './command.ts';
import { auditCommands } from './commands/audit.ts';
import { clientCommands } from './commands/client.ts';
import { idpCommands } from './commands/idp.ts';
import { keyCommands } from './commands/keys.ts';
import { migrateCommand } from './commands/migrate.ts';
import { registrationTokenCommands } from './commands/registration.ts';
import { resourceCommands } from './commands/resource.ts';
import { secretCommands } from './commands/secret.ts';
import { userCommands } from './commands/user.ts';
import { commandHelp, groupHelp, overview } from './help.ts';
import { UsageError } from './usage-error.ts';

export interface CliIo extends CliInput {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const GROUPS: readonly CommandGroup[] = [clientCommands, resourceCommands, userCommands, idpCommands, keyCommands, auditCommands, secretCommands, registrationTokenCommands];
const HELP_WORDS = new Set(['help', '--help', '-h']);
const VERSION_WORDS = new Set(['version', '--version', '-V']);

type Resolved =
  | { kind: 'help'; text: string }
  | { kind: 'command'; command: Command; name: string; argv: string[] };

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // Decided from the raw words so even a usage error is reported as JSON.
  const json = argv.includes('--json');
  try {
    refusePasswordArguments(argv);
    const words = argv.filter((word) => word !== '--json');
    if (words.length === 1 && VERSION_WORDS.has(words[0]!)) return printVersion(json, io);
    const resolved = resolve(argv);
    if (resolved.kind === 'help') return printHelp(resolved.text, json, io);
    const { command, name } = resolved;
    const args = parseCommandArgs(`${name}${command.usage.split(' ')[0]}`, resolved.argv, command.options, command.arguments ?? []);
    if (args.values.help) return printHelp(commandHelp(name, command), json, io);
    const input = await command.parse(args, io);
    const output = await execute(command, input, io);
    io.stdout.write(json ? `${JSON.stringify(output.json)}\n` : `${output.human}\n`);
    return 0;
  } catch (error) {
    return report(error, json, io);
  }
}

function printVersion(json: boolean, io: CliIo): number {
  const { version } = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  io.stdout.write(json ? `${JSON.stringify({ version })}\n` : `latchkey ${version}\n`);
  return 0;
}

function printHelp(text: string, json: boolean, io: CliIo): number {
  io.stdout.write(json ? `${JSON.stringify({ usage: text })}\n` : `${text}\n`);
  return 0;
}

function resolve(argv: readonly string[]): Resolved {
  // A group named by two words (`registration token`) takes them as one.
  if (argv.length >= 2 && GROUPS.some((g) => g.name === `${argv[0]} ${argv[1]}`)) return resolve([`${argv[0]} ${argv[1]}`, ...argv.slice(2)]);
  if (argv[0] === 'help' && argv.length >= 3 && GROUPS.some((g) => g.name === `${argv[1]} ${argv[2]}`)) return resolve(['help', `${argv[1]} ${argv[2]}`]);
  if (argv[0] === 'help' && argv.length === 2 && !GROUPS.some((g) => g.name === argv[1])) {
    const group = GROUPS.find((g) => g.name.startsWith(`${argv[1]} `));
    if (group) return { kind: 'help', text: groupHelp(group) };
  }
  const [first, second, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given; run `latchkey help` for the list');
  if (HELP_WORDS.has(first)) {
    if (second === undefined) return { kind: 'help', text: overview(GROUPS, migrateCommand) };
    const group = GROUPS.find((g) => g.name === second);
    if (second === 'migrate') return { kind: 'help', text: commandHelp('', migrateCommand) };
    if (!group) throw new UsageError(`no help for unknown command "${second}"; run \`latchkey help\``);
    return { kind: 'help', text: groupHelp(group) };
  }
  if (first === 'migrate') return { kind: 'command', command: migrateCommand, name: '', argv: argv.slice(1) };

  const group = GROUPS.find((g) => g.name === first);
  if (!group) throw new UsageError(`unknown command "${first}"; run \`latchkey help\` for the list`);
  if (second === undefined) throw new UsageError(`missing ${group.name} command (${Object.keys(group.commands).join(', ')}); run \`latchkey help ${group.name}\``);
  if (HELP_WORDS.has(second)) return { kind: 'help', text: groupHelp(group) };
  const command = Object.hasOwn(group.commands, second) ? group.commands[second] : undefined;
  if (!command) {
    throw new UsageError(`unknown ${group.name} command "${second}" (expected one of ${Object.keys(group.commands).join(', ')})`);
  }
  return { kind: 'command', command, name: `${group.name} `, argv: rest };
}

async function execute(command: Command, input: unknown, io: CliIo): Promise<CommandOutput> {
  if ('standalone' in command) return command.run(input);
  const config = loadConfig();
  const migration = await migrate(config.database);
  if (command !== migrateCommand && migration.applied.length) {
    io.stderr.write(`latchkey: applied migration(s) ${migration.applied.join(', ')}\n`);
  }
  const db = await openDatabase(config.database, { poolSize: 2 });
  let services: ReturnType<typeof createServices> | undefined;
  try {
    // Built on first use: only the key, secret and idp commands need the master secret.
    let keys: Keys | undefined;
    const cliKeys = () => (keys ??= createKeys(config, db, { info: (message) => io.stderr.write(`latchkey: ${message}\n`) }));
    services = createServices({ config, db, masterSecret: () => cliKeys().masterSecret });
    const { audit: auditService } = services;
    // Written before the command prints (not batched): the process exits right after.
    const audit = async (event: CliAuditEvent) => {
      try {
        await auditService.recordNow({ ...event, actor: CLI_ACTOR });
      } catch (error) {
        io.stderr.write(`latchkey: warning: the change was made, but its audit event (${event.type}) could not be stored: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
      }
    };
    let mail: MailService | undefined;
    const cliMail = () =>
      (mail ??= createMailService({
        repository: createMailOutboxRepository(db),
        templates: createMailTemplates({ issuer: config.issuer }),
        // enqueue() logs only an error's class and code, never the mail.
        log: { error: ((fields: object, message: string) => void io.stderr.write(`latchkey: ${message} ${JSON.stringify(fields)}\n`)) as Log['error'] },
      }));
    return await command.run(
      {
        services,
        migration,
        issuer: config.issuer,
        mail: cliMail,
        keys: () => cliKeys().rotation,
        // From `previous` to the configured master secret.
        resealKeys: (previous) => createSecretRotation({ keys: cliKeys().repository, current: cliKeys().sealer }).rotate(createSealer(previous)),
        audit,
      },
      input,
    );
  } finally {
    // What the services recorded through their buffer (the back-channel logouts a password change queued) is written before the database closes.
    await services?.audit.stop();
    await db.close();
  }
}

function report(error: unknown, json: boolean, io: CliIo): number {
  let code: string;
  let message: string;
  let status: number;
  if (error instanceof UsageError) {
    [code, message, status] = [error.code, error.message, 2];
  } else if (error instanceof LatchkeyError) {
    [code, message, status] = [error.code, oneLine(error.message), 1];
  } else {
    // Not one of ours: keep it to one line, and take the line that says what
    // failed (Prisma puts the invocation first and the reason last).
    const text = error instanceof Error ? error.message : String(error);
    [code, message, status] = ['internal_error', `unexpected error: ${oneLine(text)}`, 1];
  }
  io.stderr.write(`latchkey: ${message}\n`);
  if (json) io.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  return status;
}

function oneLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  const line = lines.at(-1) ?? 'no message';
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
