// `latchkey client …`: register, inspect, rotate and remove OAuth clients.
import { flag, optionalString, requiredString, stringList } from '../args.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { fields, table } from '../format.ts';
import type { ClientView, CreateClientInput, UpdateClientInput } from '../../clients/client-service.ts';
import { UsageError } from '../usage-error.ts';

const SECRET_NOTICE = 'Store the client secret now: it is not kept in clear and will not be shown again.';

function describe(client: ClientView, clientSecret?: string): string {
  return fields([
    ['client_id', client.clientId],
    ['name', client.name],
    ['type', client.public ? `public (${client.applicationType})` : `confidential (${client.applicationType})`],
    ['auth method', client.tokenEndpointAuthMethod],
    ['grant types', client.grantTypes],
    ['redirect URIs', client.redirectUris],
    ['post-logout URIs', client.postLogoutRedirectUris],
    ['scope', client.scope],
    ['resources', client.resources],
    ...(client.jwksUri ? ([['jwks_uri', client.jwksUri]] as const) : []),
    ...(client.backchannelLogoutUri ? ([['back-channel logout URI', client.backchannelLogoutUri]] as const) : []),
    ...(client.requireVerifiedEmail ? ([['requires verified email', 'yes']] as const) : []),
    ...(client.requireMfa ? ([['requires a second factor', 'yes']] as const) : []),
    ...(client.requirePar ? ([['requires PAR', 'yes']] as const) : []),
    ...(client.requireDpop ? ([['requires DPoP', 'yes']] as const) : []),
    ...(client.tokenExchangeAudiences.length ? ([['token-exchange audiences', client.tokenExchangeAudiences]] as const) : []),
    ['created', client.createdAt],
    ...(clientSecret !== undefined ? ([['client_secret', clientSecret]] as const) : []),
  ]);
}

/** --auth-method is the short spelling of --token-endpoint-auth-method; giving both, differently, is a mistake. */
function authMethod(args: Parameters<typeof optionalString>[0]): string | undefined {
  const long = optionalString(args, 'token-endpoint-auth-method');
  const short = optionalString(args, 'auth-method');
  if (long !== undefined && short !== undefined && long !== short) throw new UsageError('--auth-method and --token-endpoint-auth-method name the same setting; give one');
  return long ?? short;
}

function withSecret(client: ClientView, clientSecret: string | undefined): string {
  return clientSecret === undefined ? describe(client) : `${describe(client, clientSecret)}\n\n${SECRET_NOTICE}`;
}

const create = defineCommand<CreateClientInput>({
  usage:
    'create --name NAME [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--grant-types authorization_code,refresh_token|client_credentials|device_code[,refresh_token]|token-exchange] [--scope "S1 S2"] [--resource URL]... [--public] [--token-endpoint-auth-method|--auth-method client_secret_basic|client_secret_post|private_key_jwt|none] [--jwks-uri URL] [--backchannel-logout-uri URL] [--require-verified-email] [--require-mfa] [--require-par] [--require-dpop] [--token-exchange-audience URL]...',
  summary: 'Register a client; prints its client_id and (confidential clients) its secret, once',
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    'grant-types': { type: 'string', multiple: true },
    scope: { type: 'string' },
    resource: { type: 'string', multiple: true },
    'token-exchange-audience': { type: 'string', multiple: true },
    public: { type: 'boolean' },
    'token-endpoint-auth-method': { type: 'string' },
    'auth-method': { type: 'string' },
    'jwks-uri': { type: 'string' },
    'backchannel-logout-uri': { type: 'string' },
    'require-verified-email': { type: 'boolean' },
    'require-mfa': { type: 'boolean' },
    'require-par': { type: 'boolean' },
    'require-dpop': { type: 'boolean' },
  },
  parse: (args) => ({
    name: requiredString(args, 'name'),
    redirectUris: stringList(args, 'redirect-uri'),
    postLogoutRedirectUris: stringList(args, 'post-logout-redirect-uri'),
    grantTypes: stringList(args, 'grant-types', { commas: true }),
    scope: optionalString(args, 'scope'),
    resources: stringList(args, 'resource'),
    public: flag(args, 'public'),
    tokenEndpointAuthMethod: authMethod(args),
    jwksUri: optionalString(args, 'jwks-uri'),
    backchannelLogoutUri: optionalString(args, 'backchannel-logout-uri'),
    requireVerifiedEmail: flag(args, 'require-verified-email'),
    requireMfa: flag(args, 'require-mfa'),
    requirePar: flag(args, 'require-par'),
    requireDpop: flag(args, 'require-dpop'),
    tokenExchangeAudiences: stringList(args, 'token-exchange-audience'),
  }),
  async run({ services, audit }, input) {
    const { client, clientSecret } = await services.clients.create(input);
    await audit({ type: 'client.created', subject: client.clientId, clientId: client.clientId, details: { name: client.name, public: client.public, grantTypes: client.grantTypes } });
    return { json: { client, ...(clientSecret !== undefined && { clientSecret }) }, human: withSecret(client, clientSecret) };
  },
});

// What --clear may put back to its default, and the field it is.
const CLEARABLE = {
  'redirect-uri': 'redirectUris',
  'post-logout-redirect-uri': 'postLogoutRedirectUris',
  scope: 'scope',
  resource: 'resources',
  'jwks-uri': 'jwksUri',
  'backchannel-logout-uri': 'backchannelLogoutUri',
  'token-exchange-audience': 'tokenExchangeAudiences',
} as const;

const update = defineCommand<{ clientId: string; input: UpdateClientInput }>({
  usage:
    'update CLIENT_ID [--name NAME] [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--grant-types authorization_code,refresh_token|client_credentials|device_code[,refresh_token]|token-exchange] [--scope "S1 S2"] [--resource URL]... [--token-endpoint-auth-method|--auth-method client_secret_basic|client_secret_post|private_key_jwt|none] [--jwks-uri URL] [--backchannel-logout-uri URL] [--require-verified-email true|false] [--require-mfa true|false] [--require-par true|false] [--require-dpop true|false] [--token-exchange-audience URL]... [--clear redirect-uri|post-logout-redirect-uri|scope|resource|jwks-uri|backchannel-logout-uri|token-exchange-audience]...',
  summary: "Change a client's registration; a list given replaces the old one, --clear empties one (a cleared scope is derived from the resources again); checked like a new registration",
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    'grant-types': { type: 'string', multiple: true },
    scope: { type: 'string' },
    resource: { type: 'string', multiple: true },
    'token-exchange-audience': { type: 'string', multiple: true },
    'token-endpoint-auth-method': { type: 'string' },
    'auth-method': { type: 'string' },
    'jwks-uri': { type: 'string' },
    'backchannel-logout-uri': { type: 'string' },
    'require-verified-email': { type: 'string' },
    'require-mfa': { type: 'string' },
    'require-par': { type: 'string' },
    'require-dpop': { type: 'string' },
    clear: { type: 'string', multiple: true },
  },
  arguments: ['CLIENT_ID'],
  parse: (args) => {
    const toggle = (name: string): boolean | undefined => {
      const raw = optionalString(args, name);
      if (raw === undefined) return undefined;
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} takes true or false`);
      return raw === 'true';
    };
    const cleared: Record<string, null> = {};
    for (const option of stringList(args, 'clear', { commas: true }) ?? []) {
      if (!(option in CLEARABLE)) throw new UsageError(`--clear takes one of ${Object.keys(CLEARABLE).join(', ')}`);
      if (args.values[option] !== undefined) throw new UsageError(`--${option} and --clear ${option} contradict each other`);
      cleared[CLEARABLE[option as keyof typeof CLEARABLE]] = null;
    }
    const given: UpdateClientInput = {
      name: optionalString(args, 'name'),
      redirectUris: stringList(args, 'redirect-uri'),
      postLogoutRedirectUris: stringList(args, 'post-logout-redirect-uri'),
      grantTypes: stringList(args, 'grant-types', { commas: true }),
      scope: optionalString(args, 'scope'),
      resources: stringList(args, 'resource'),
      tokenEndpointAuthMethod: authMethod(args),
      jwksUri: optionalString(args, 'jwks-uri'),
      backchannelLogoutUri: optionalString(args, 'backchannel-logout-uri'),
      requireVerifiedEmail: toggle('require-verified-email'),
      requireMfa: toggle('require-mfa'),
      requirePar: toggle('require-par'),
      requireDpop: toggle('require-dpop'),
      tokenExchangeAudiences: stringList(args, 'token-exchange-audience'),
    };
    const input = { ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)), ...cleared } as UpdateClientInput;
    if (Object.keys(input).length === 0) throw new UsageError('nothing to change: give at least one option (see `latchkey client update --help`)');
    return { clientId: args.positionals[0]!, input };
  },
  async run({ services, audit }, { clientId, input }) {
    const { client, clientSecret } = await services.clients.update(clientId, input);
    await audit({ type: 'client.updated', subject: client.clientId, clientId: client.clientId, details: { fields: Object.keys(input) } });
    return { json: { client, ...(clientSecret !== undefined && { clientSecret }) }, human: withSecret(client, clientSecret) };
  },
});

const list = defineCommand<void>({
  usage: 'list',
  summary: 'List registered clients',
  options: {},
  parse: () => undefined,
  async run({ services }) {
    const clients = await services.clients.list();
    const rows = clients.map((c) => [c.clientId, c.name, c.public ? 'public' : 'confidential', c.grantTypes.join(',')]);
    return { json: { clients }, human: table(['CLIENT_ID', 'NAME', 'TYPE', 'GRANT_TYPES'], rows, 'No clients registered.') };
  },
});

const show = defineCommand<string>({
  usage: 'show CLIENT_ID',
  summary: "Show a client's registration (never its secret)",
  options: {},
  arguments: ['CLIENT_ID'],
  parse: (args) => args.positionals[0]!,
  async run({ services }, clientId) {
    const client = await services.clients.get(clientId);
    return { json: { client }, human: describe(client) };
  },
});

const remove = defineCommand<string>({
  usage: 'delete CLIENT_ID',
  summary: 'Delete a client',
  options: {},
  arguments: ['CLIENT_ID'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, clientId) {
    const client = await services.clients.delete(clientId);
    await audit({ type: 'client.deleted', subject: client.clientId, clientId: client.clientId, details: { name: client.name } });
    return { json: { deleted: true, client }, human: `Deleted client ${client.clientId} (${client.name}).` };
  },
});

const rotateSecret = defineCommand<string>({
  usage: 'rotate-secret CLIENT_ID',
  summary: 'Replace a confidential client\'s secret; the old one stops working at once',
  options: {},
  arguments: ['CLIENT_ID'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, clientId) {
    const { client, clientSecret } = await services.clients.rotateSecret(clientId);
    await audit({ type: 'client.secret_rotated', subject: client.clientId, clientId: client.clientId });
    return {
      json: { client, clientSecret },
      human: `${fields([['client_id', client.clientId], ['client_secret', clientSecret]])}\n\n${SECRET_NOTICE}`,
    };
  },
});

export const clientCommands: CommandGroup = {
  name: 'client',
  summary: 'OAuth clients',
  commands: { create, update, list, show, delete: remove, 'rotate-secret': rotateSecret },
};
