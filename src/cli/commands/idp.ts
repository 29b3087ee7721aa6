// `latchkey idp …`: the upstream identity providers people can sign in with
// ("Continue with Acme SSO" on the login page). The client secret is read
// from stdin only (never argv: shell history, the process list), sealed at
// rest, and never printed.
import { flag, optionalString, requiredString } from '../args.ts';
import { defineCommand, type CliInput, type CommandGroup, type ParsedArgs } from '../command.ts';
import { fields, table } from '../format.ts';
import type { IdentityProviderInput, IdentityProviderPatch, IdentityProviderView } from '../../federation/identity-provider-service.ts';
import { IDENTITY_PROVIDER_TYPES, type IdentityProviderType } from '../../federation/identity-provider-validation.ts';
import { readSecretFromStdin } from '../stdin.ts';
import { UsageError } from '../usage-error.ts';

function describe(idp: IdentityProviderView): string {
  return fields([
    ['slug', idp.slug],
    ['name', idp.name],
    ['type', idp.type],
    ['issuer', idp.issuer],
    ['client id', idp.clientId],
    ['scope', idp.scope],
    ['status', idp.enabled ? 'enabled' : 'disabled'],
    ['callback path', `/federation/${idp.slug}/callback`],
    ['created', idp.createdAt],
  ]);
}

/** What an audit event says about a provider: never its secret. */
const auditDetails = (idp: IdentityProviderView) => ({ name: idp.name, type: idp.type, issuer: idp.issuer, clientId: idp.clientId, scope: idp.scope, enabled: idp.enabled });

const SECRET_OPTION = { name: '--client-secret-stdin', example: 'latchkey idp create --name N --issuer URL --client-id ID --client-secret-stdin < secret.txt' } as const;

async function secretFromStdin(args: ParsedArgs, input: CliInput): Promise<string | undefined> {
  return flag(args, 'client-secret-stdin') ? readSecretFromStdin(input, SECRET_OPTION) : undefined;
}

function parseType(args: ParsedArgs): IdentityProviderType | undefined {
  const type = optionalString(args, 'type');
  if (type !== undefined && !(IDENTITY_PROVIDER_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`--type must be one of ${IDENTITY_PROVIDER_TYPES.join(', ')}`);
  }
  return type as IdentityProviderType | undefined;
}

/** The options `create` and `update` share. */
const SHARED_OPTIONS = {
  name: { type: 'string' },
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-stdin': { type: 'boolean' },
  scope: { type: 'string' },
  disabled: { type: 'boolean' },
} as const;

const create = defineCommand<IdentityProviderInput>({
  usage: 'create --name NAME [--slug SLUG] [--type oidc|github] --issuer URL --client-id ID --client-secret-stdin [--scope "S S"] [--disabled]',
  summary:
    'Add an upstream identity provider, shown on the login page as "Continue with NAME"; the client secret is read from stdin. ' +
    'The slug (default: the name, lower-cased and hyphenated) names its callback, /federation/SLUG/callback, to register at the upstream. ' +
    'oidc: --issuer is where its discovery document is (ISSUER/.well-known/openid-configuration), scope default "openid email profile"; ' +
    'github: --issuer defaults to https://github.com (a GitHub Enterprise base URL otherwise), scope default "read:user user:email"',
  options: { ...SHARED_OPTIONS, slug: { type: 'string' }, type: { type: 'string' } },
  async parse(args, input) {
    const name = requiredString(args, 'name');
    const type = parseType(args);
    const issuer = optionalString(args, 'issuer');
    if (issuer === undefined && type !== 'github') throw new UsageError('missing required option --issuer');
    const clientId = requiredString(args, 'client-id');
    if (!flag(args, 'client-secret-stdin')) throw new UsageError('missing required option --client-secret-stdin (the client secret is read from stdin)');
    const slug = optionalString(args, 'slug');
    const scope = optionalString(args, 'scope');
    return {
      name,
      clientId,
      clientSecret: (await secretFromStdin(args, input))!,
      ...(type !== undefined && { type }),
      ...(issuer !== undefined && { issuer }),
      ...(slug !== undefined && { slug }),
      ...(scope !== undefined && { scope }),
      enabled: !flag(args, 'disabled'),
    };
  },
  async run({ services, audit }, input) {
    const idp = await services.identityProviders.create(input);
    await audit({ type: 'idp.created', subject: idp.slug, details: auditDetails(idp) });
    return { json: { idp }, human: `Added identity provider.\n${describe(idp)}` };
  },
});

const update = defineCommand<{ slug: string; patch: IdentityProviderPatch }>({
  usage: 'update SLUG [--name NAME] [--issuer URL] [--client-id ID] [--client-secret-stdin] [--scope "S S"] [--enabled|--disabled]',
  summary: "Change a provider's name, issuer, client id, client secret (from stdin), scope or status; its slug and type are fixed",
  options: { ...SHARED_OPTIONS, enabled: { type: 'boolean' }, slug: { type: 'string' }, type: { type: 'string' } },
  arguments: ['SLUG'],
  async parse(args, input) {
    if (args.values.slug !== undefined || args.values.type !== undefined) {
      throw new UsageError('--slug and --type cannot change after creation (the slug is in the callback URL registered at the upstream); delete and create the provider instead');
    }
    if (flag(args, 'enabled') && flag(args, 'disabled')) throw new UsageError('give --enabled or --disabled, not both');
    const given: IdentityProviderPatch = {
      name: optionalString(args, 'name'),
      issuer: optionalString(args, 'issuer'),
      clientId: optionalString(args, 'client-id'),
      scope: optionalString(args, 'scope'),
      enabled: flag(args, 'enabled') ? true : flag(args, 'disabled') ? false : undefined,
      clientSecret: await secretFromStdin(args, input),
    };
    const patch = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as IdentityProviderPatch;
    if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give --name, --issuer, --client-id, --client-secret-stdin, --scope, --enabled or --disabled');
    return { slug: args.positionals[0]!, patch };
  },
  async run({ services, audit }, { slug, patch }) {
    const idp = await services.identityProviders.update(slug, patch);
    // Which fields changed, by name: a new secret shows as "clientSecret", never its value.
    await audit({ type: 'idp.updated', subject: idp.slug, details: { ...auditDetails(idp), changed: Object.keys(patch) } });
    return { json: { idp }, human: `Updated identity provider.\n${describe(idp)}` };
  },
});

const list = defineCommand<void>({
  usage: 'list',
  summary: 'List identity providers (never their secrets)',
  options: {},
  parse: () => undefined,
  async run({ services }) {
    const idps = await services.identityProviders.list();
    const rows = idps.map((idp) => [idp.slug, idp.enabled ? 'enabled' : 'disabled', idp.type, idp.name, idp.issuer]);
    return { json: { idps }, human: table(['SLUG', 'STATUS', 'TYPE', 'NAME', 'ISSUER'], rows, 'No identity providers.') };
  },
});

function setEnabled(enabled: boolean) {
  return defineCommand<string>({
    usage: `${enabled ? 'enable' : 'disable'} SLUG`,
    summary: enabled ? 'Show the provider on the login page again' : 'Take the provider off the login page; its links stay, and work again once it is enabled',
    options: {},
    arguments: ['SLUG'],
    parse: (args) => args.positionals[0]!,
    async run({ services, audit }, slug) {
      const idp = await services.identityProviders.update(slug, { enabled });
      await audit({ type: 'idp.updated', subject: idp.slug, details: { ...auditDetails(idp), changed: ['enabled'] } });
      return { json: { idp }, human: `${enabled ? 'Enabled' : 'Disabled'} identity provider ${idp.slug}.` };
    },
  });
}

const remove = defineCommand<string>({
  usage: 'delete SLUG',
  summary: 'Delete a provider and every account link through it (the accounts stay; people without a password sign in with "forgot password")',
  options: {},
  arguments: ['SLUG'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, slug) {
    const idp = await services.identityProviders.findBySlug(slug);
    await services.identityProviders.delete(slug);
    await audit({ type: 'idp.deleted', subject: slug, details: idp ? auditDetails(idp) : {} });
    return { json: { deleted: true, idp }, human: `Deleted identity provider ${slug}.` };
  },
});

export const idpCommands: CommandGroup = {
  name: 'idp',
  summary: 'Upstream identity providers people can sign in with',
  commands: { create, update, list, enable: setEnabled(true), disable: setEnabled(false), delete: remove },
};
