// `latchkey registration token …`: the initial access tokens that let someone
// register a client over /reg when LATCHKEY_REGISTRATION=initial-access-token
// (RFC 7591 §3). A token is printed once, kept only as a digest, and works
// for one registration before it expires.
import { optionalInteger } from '../args.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { fields, table } from '../format.ts';
import { DEFAULT_INITIAL_ACCESS_TOKEN_TTL, MAX_INITIAL_ACCESS_TOKEN_TTL } from '../../registration/registration-tokens.ts';
import { UsageError } from '../usage-error.ts';

const create = defineCommand<number>({
  usage: `create [--expires-in SECONDS]`,
  summary: `Make an initial access token for one client registration (default ${DEFAULT_INITIAL_ACCESS_TOKEN_TTL} s); printed once`,
  options: { 'expires-in': { type: 'string' } },
  parse: (args) => {
    const seconds = optionalInteger(args, 'expires-in') ?? DEFAULT_INITIAL_ACCESS_TOKEN_TTL;
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_INITIAL_ACCESS_TOKEN_TTL) {
      throw new UsageError(`--expires-in must be whole seconds from 1 to ${MAX_INITIAL_ACCESS_TOKEN_TTL}`);
    }
    return seconds;
  },
  async run({ services, audit }, expiresIn) {
    const { token, view } = await services.registrationTokens.createInitial(expiresIn);
    await audit({ type: 'registration_token.created', subject: view.id, details: { expiresAt: view.expiresAt.toISOString() } });
    return {
      json: { token, initialAccessToken: view },
      human: `${fields([['id', view.id], ['expires', view.expiresAt], ['token', token]])}\n\nGive the token to whoever registers the client: it works once, and it is not kept in clear, so it will not be shown again.`,
    };
  },
});

const list = defineCommand<undefined>({
  usage: 'list',
  summary: 'List initial access tokens (never the tokens themselves)',
  options: {},
  parse: () => undefined,
  async run({ services }) {
    const tokens = await services.registrationTokens.listInitial();
    return {
      json: { initialAccessTokens: tokens },
      human: table(['ID', 'STATUS', 'EXPIRES', 'USED'], tokens.map((t) => [t.id, t.status, t.expiresAt.toISOString(), t.usedAt?.toISOString() ?? '-']), 'No initial access tokens.'),
    };
  },
});

const revoke = defineCommand<string>({
  usage: 'revoke ID',
  summary: 'Revoke an initial access token by its id (iat_…); it stops working at once',
  options: {},
  arguments: ['ID'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, id) {
    const view = await services.registrationTokens.revokeInitial(id);
    await audit({ type: 'registration_token.revoked', subject: view.id });
    return { json: { revoked: true, initialAccessToken: view }, human: `Revoked initial access token ${view.id}.` };
  },
});

export const registrationTokenCommands: CommandGroup = {
  name: 'registration token',
  summary: 'Initial access tokens for dynamic client registration',
  commands: { create, list, revoke },
};
