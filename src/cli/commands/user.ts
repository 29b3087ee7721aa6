// `latchkey user …`: end-user accounts. Passwords only ever come from stdin.
// `user invite` makes an account nobody can sign in to yet (its password is
// random and never shown) and queues a mail with a link to choose one; the
// link is a credential, so it is never printed.
import { flag, optionalString, requiredString } from '../args.ts';
import { defineCommand, type CliInput, type CommandGroup, type ParsedArgs } from '../command.ts';
import { fields, table } from '../format.ts';
import type { AccountView, CreateAccountInput } from '../../accounts/account-service.ts';
import { readSecretFromStdin } from '../stdin.ts';
import { UsageError } from '../usage-error.ts';
import { NotFoundError } from '../../errors.ts';
import { ADMIN_ROLES, isAdminRole, type AdminRole } from '../../accounts/admin-role.ts';

function describe(user: AccountView): string {
  return fields([
    ['id', user.id],
    ['email', user.email],
    ['name', user.name],
    ['status', user.disabled ? 'disabled' : 'enabled'],
    ['role', user.role],
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

const invite = defineCommand<{ email: string; name?: string }>({
  usage: 'invite --email EMAIL [--name NAME]',
  summary:
    'Create a user and mail them a link (good for 7 days) to choose their password; an email that already has an account is refused. ' +
    'The mail is queued in the database: a running Latchkey server sends it (LATCHKEY_SMTP_URL), and without one it waits until one runs',
  options: {
    email: { type: 'string' },
    name: { type: 'string' },
  },
  parse(args) {
    const name = optionalString(args, 'name');
    return { email: requiredString(args, 'email'), ...(name !== undefined && { name }) };
  },
  async run({ services, audit, mail }, { email, name }) {
    // Unusable until the link is followed (accounts/invitation.ts, shared with the Admin API).
    const { account, mailQueued } = await services.invitations.invite({ email, ...(name !== undefined && { name }) }, mail());
    await audit({ type: 'account.invited', subject: account.id });
    const human = mailQueued
      ? `Invited ${account.email}: the invitation mail is queued. A running Latchkey server sends it; if none is running, it waits until one starts.\n${describe(account)}`
      : `Created ${account.email}, but the invitation mail could not be queued (see the error above).\n${describe(account)}`;
    return { json: { account, mailQueued }, human };
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

const setRole = defineCommand<{ email: string; role: AdminRole }>({
  usage: `set-role EMAIL ${ADMIN_ROLES.join('|')}`,
  summary:
    "Set a user's role in the admin console (/admin): admin may change everything, viewer may only look, none (the default) gets no admin access. " +
    'It bounds the admin scopes of their next token; tokens already issued keep theirs until they expire',
  options: {},
  arguments: ['EMAIL', 'ROLE'],
  parse(args) {
    const role = args.positionals[1]!;
    if (!isAdminRole(role)) throw new UsageError(`ROLE must be one of ${ADMIN_ROLES.join(', ')}`);
    return { email: args.positionals[0]!, role };
  },
  async run({ services, audit }, { email, role }) {
    const before = await services.accounts.findByEmail(email);
    if (!before) throw new NotFoundError(`no account with email ${email}`);
    const user = await services.accounts.setRole(before.id, role);
    await audit({ type: 'user.role_changed', subject: user.id, details: { role, previous: before.role } });
    return { json: { user }, human: `Admin console role of ${user.email}: ${role}.` };
  },
});

const resetMfa = defineCommand<string>({
  usage: 'reset-mfa EMAIL',
  summary: "Remove every second factor of a user (authenticator app, recovery codes, passkeys: they lost them); their next sign-in needs only the password, and they can enrol again",
  options: {},
  arguments: ['EMAIL'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, email) {
    const user = await services.accounts.findByEmail(email);
    if (!user) throw new NotFoundError(`no account with email ${email}`);
    // The app, its recovery codes and the passkeys (mfa/second-factor-reset.ts, shared with the Admin API).
    const { hadApp, passkeysRemoved } = await services.secondFactorReset.reset(user.id);
    await audit({ type: 'mfa.reset', subject: user.id, details: { hadApp, passkeysRemoved } });
    const removed = [hadApp && 'the authenticator app', 'any recovery codes', passkeysRemoved > 0 && `${passkeysRemoved} passkey${passkeysRemoved === 1 ? '' : 's'}`].filter(Boolean).join(', ');
    return { json: { user, hadApp, passkeysRemoved }, human: `Removed ${removed} of ${user.email}.` };
  },
});

export const userCommands: CommandGroup = {
  name: 'user',
  summary: 'End-user accounts',
  commands: { create, invite, list, disable, enable, 'set-password': setPassword, 'set-role': setRole, 'reset-mfa': resetMfa },
};
