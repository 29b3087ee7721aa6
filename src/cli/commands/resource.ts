// `latchkey resource …`: register and remove the APIs access tokens are issued for.
import { optionalInteger, optionalString, requiredString, stringList } from '../args.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { fields, table } from '../format.ts';
import type { CreateResourceInput, ResourceView, UpdateResourceInput } from '../../resources/resource-service.ts';
import { UsageError } from '../usage-error.ts';

function describe(resource: ResourceView): string {
  return fields([
    ['identifier', resource.identifier],
    ['scopes', resource.scopes.join(' ')],
    ['access token TTL', `${resource.accessTokenTtl} s`],
    ['signing alg', resource.signingAlg],
    ['created', resource.createdAt],
  ]);
}

const create = defineCommand<CreateResourceInput>({
  usage: 'create --identifier URL --scope S [--scope S]... [--access-token-ttl SECONDS] [--signing-alg ES256|RS256|EdDSA]',
  summary: 'Register an API (RFC 8707 resource indicator) and the scopes it accepts',
  options: {
    identifier: { type: 'string' },
    scope: { type: 'string', multiple: true },
    'access-token-ttl': { type: 'string' },
    'signing-alg': { type: 'string' },
  },
  parse(args) {
    const scopes = stringList(args, 'scope');
    if (!scopes) throw new UsageError('missing required option --scope');
    return {
      identifier: requiredString(args, 'identifier'),
      scopes,
      accessTokenTtl: optionalInteger(args, 'access-token-ttl'),
      signingAlg: optionalString(args, 'signing-alg'),
    };
  },
  async run({ services, audit }, input) {
    const resource = await services.resources.create(input);
    await audit({ type: 'resource.created', subject: resource.identifier, details: { scopes: resource.scopes, accessTokenTtl: resource.accessTokenTtl, signingAlg: resource.signingAlg } });
    return { json: { resource }, human: `Registered resource.\n${describe(resource)}` };
  },
});

const update = defineCommand<{ identifier: string; input: UpdateResourceInput }>({
  usage: 'update IDENTIFIER [--scope S]... [--access-token-ttl SECONDS] [--signing-alg ES256|RS256|EdDSA]',
  summary: "Change an API's scopes (the list given replaces the old one), token lifetime or signing algorithm; the identifier never changes",
  options: {
    scope: { type: 'string', multiple: true },
    'access-token-ttl': { type: 'string' },
    'signing-alg': { type: 'string' },
  },
  arguments: ['IDENTIFIER'],
  parse(args) {
    const given: UpdateResourceInput = {
      scopes: stringList(args, 'scope'),
      accessTokenTtl: optionalInteger(args, 'access-token-ttl'),
      signingAlg: optionalString(args, 'signing-alg'),
    };
    const input = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as UpdateResourceInput;
    if (Object.keys(input).length === 0) throw new UsageError('nothing to change: give --scope, --access-token-ttl or --signing-alg');
    return { identifier: args.positionals[0]!, input };
  },
  async run({ services, audit }, { identifier, input }) {
    const resource = await services.resources.update(identifier, input);
    await audit({ type: 'resource.updated', subject: resource.identifier, details: { scopes: resource.scopes, accessTokenTtl: resource.accessTokenTtl, signingAlg: resource.signingAlg } });
    return { json: { resource }, human: `Updated resource.\n${describe(resource)}` };
  },
});

const list = defineCommand<void>({
  usage: 'list',
  summary: 'List registered APIs',
  options: {},
  parse: () => undefined,
  async run({ services }) {
    const resources = await services.resources.list();
    const rows = resources.map((r) => [r.identifier, String(r.accessTokenTtl), r.signingAlg, r.scopes.join(' ')]);
    return { json: { resources }, human: table(['IDENTIFIER', 'TTL', 'ALG', 'SCOPES'], rows, 'No resources registered.') };
  },
});

const remove = defineCommand<string>({
  usage: 'delete IDENTIFIER',
  summary: 'Delete an API and remove it from every client naming it (the admin resource cannot be deleted)',
  options: {},
  arguments: ['IDENTIFIER'],
  parse: (args) => args.positionals[0]!,
  async run({ services, audit }, identifier) {
    const resource = await services.resources.delete(identifier);
    await audit({ type: 'resource.deleted', subject: resource.identifier });
    return { json: { deleted: true, resource }, human: `Deleted resource ${resource.identifier}.` };
  },
});

export const resourceCommands: CommandGroup = {
  name: 'resource',
  summary: 'APIs that access tokens are issued for',
  commands: { create, update, list, delete: remove },
};
