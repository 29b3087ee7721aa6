// `latchkey user …`: end-user accounts. Passwords only ever come from stdin.
import { flag, optionalString, requiredString } from '../args.ts';
import { defineCommand, type CliInput, type CommandGroup, type ParsedArgs } from '../command.ts';
import { fields, table } from '../format.ts';
import type { AccountView, CreateAccountInput } from '../../accounts/account-service.ts';
import { readSecretFromStdin } from '../stdin.ts';
import { UsageError } from '../usage-error.ts';

function describe(user: AccountView): string {
  return fields([
    ['id', user.id],
    ['email', user.email],
    ['name', user.name],
    ['status', user.disabled ? 'disabled' : 'enabled'],
    ['created', user.createdAt],
  ]);
}

async function passwordFromStdin(args: ParsedArgs, input: CliInput): Promise<string> {
  if (!flag(args, 'password-stdin')) throw new UsageError('missing required option --password-stdin (the password is read from stdin)');
  return readSecretFromStdin(input);
}

const create = defineCommand<CreateAccountInput>({
  usage: 'create --email EMAIL [--name NAME] --password-stdin',
  summary: 'Create a user; the password is read from stdin',
  options: {
    email: { type: 'string' },
    name: { type: 'string' },
    'password-stdin': { type: 'boolean' },
  },
  async parse(args, input) {
    const email = requiredString(args, 'email');
    const name = optionalString(args, 'name');
    return { email, ...(name !== undefined && { name }), password: await passwordFromStdin(args, input) };
  },
  async run({ services, audit }, input) {
    const user = await services.accounts.create(input);
    // The account id, not the email: audit rows name people by identifier only.
    await audit({ type: 'user.created', subject: user.id });
    return { json: { user }, human: `Created user.\n${describe(user)}` };
  },
});

const list = defineCommand<void>({
  usage: 'list',
  summary: 'List users',
  options: {},
  parse: () => undefined,
  async run({ services }) {
    const users = await services.accounts.list();
    const rows = users.map((u) => [u.email, u.disabled ? 'disabled' : 'enabled', u.name ?? '-', u.id]);
    return { json: { users }, human: table(['EMAIL', 'STATUS', 'NAME', 'ID'], rows, 'No users.') };
  },
});

const disable = defineCommand<string>({
  usage: 'disable EMAIL',
  summary: 'Stop a user from signing in (existing sessions and refresh tokens stop working)',
  options: {},
  arguments: ['EMAIL'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, email) {
    const user = await services.accounts.disable(email);
    await audit({ type: 'user.disabled', subject: user.id });
    return { json: { user }, human: `Disabled ${user.email}.` };
  },
});

const enable = defineCommand<string>({
  usage: 'enable EMAIL',
  summary: 'Allow a disabled user to sign in again',
  options: {},
  arguments: ['EMAIL'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, email) {
    const user = await services.accounts.enable(email);
    await audit({ type: 'user.enabled', subject: user.id });
    return { json: { user }, human: `Enabled ${user.email}.` };
  },
});

const setPassword = defineCommand<{ email: string; password: string }>({
  usage: 'set-password EMAIL --password-stdin',
  summary: "Replace a user's password with the one read from stdin; every session, grant and token of the user ends",
  options: { 'password-stdin': { type: 'boolean' } },
  arguments: ['EMAIL'],
  parse: async (args, input) => ({ email: args.positionals[0]!, password: await passwordFromStdin(args, input) }),
  async run({ services, audit }, { email, password }) {
    const user = await services.accounts.setPassword(email, password);
    await audit({ type: 'user.password_set', subject: user.id });
    return { json: { user }, human: `Password changed for ${user.email}; their sessions, grants and tokens have ended.` };
  },
});

export const userCommands: CommandGroup = {
  name: 'user',
  summary: 'End-user accounts',
  commands: { create, list, disable, enable, 'set-password': setPassword },
};
