// `latchkey keys …`: list, rotate and retire the signing keys. Running
// instances pick up every change by themselves (within LATCHKEY_KEY_WATCH_INTERVAL).
import type { KeyStatus, RotateInput } from '../../keys/key-rotation.ts';
import { flag, optionalInteger, optionalString } from '../args.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { fields, table } from '../format.ts';

const when = (date: Date | null) => (date ? date.toISOString() : '-');

function describe(key: KeyStatus): string {
  return fields([
    ['kid', key.kid],
    ['alg', key.alg],
    ['state', key.signing ? `${key.state} (signing)` : key.state],
    ['created', key.createdAt],
    ['activates', key.activatesAt],
    ['superseded', key.supersededAt],
    ['retirable', key.retirableAt],
    ['retired', key.retiredAt],
  ]);
}

const list = defineCommand<void>({
  usage: 'list',
  summary: 'List signing keys, newest first, with when each signs and when it may be retired',
  options: {},
  parse: () => undefined,
  async run({ keys }) {
    const all = await keys().list();
    const rows = all.map((key) => [
      key.kid,
      key.alg,
      key.signing ? `${key.state}, signing` : key.state,
      when(key.createdAt),
      when(key.activatesAt),
      key.state === 'retired' ? when(key.retiredAt) : when(key.retirableAt),
    ]);
    return {
      json: { keys: all },
      human: table(['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATES', 'RETIRABLE/RETIRED'], rows, 'No signing keys yet (the server creates them at its first start).'),
    };
  },
});

const rotate = defineCommand<RotateInput>({
  usage: 'rotate [--alg ES256|RS256|EdDSA] [--activate-after SECONDS]',
  summary: 'Publish a new key now; it starts signing after LATCHKEY_KEY_ACTIVATION_DELAY (or --activate-after) seconds',
  options: {
    alg: { type: 'string' },
    'activate-after': { type: 'string' },
  },
  parse(args) {
    const alg = optionalString(args, 'alg');
    const activateAfterSec = optionalInteger(args, 'activate-after');
    return { ...(alg !== undefined && { alg }), ...(activateAfterSec !== undefined && { activateAfterSec }) };
  },
  async run({ keys, audit }, input) {
    const key = await keys().rotate(input);
    await audit({ type: 'key.rotated', subject: key.kid, details: { alg: key.alg, activatesAt: when(key.activatesAt) } });
    return {
      json: { key },
      human: `Published a new ${key.alg} key; it is in the JWKS now and ${key.signing ? 'signs from now on' : `starts signing at ${when(key.activatesAt)}`}.\n${describe(key)}`,
    };
  },
});

const retire = defineCommand<{ kid: string; force: boolean }>({
  usage: 'retire [--force] [--] KID',
  summary: 'Remove a key from the JWKS once no unexpired token can carry it (--force: now, invalidating such tokens)',
  options: { force: { type: 'boolean' } },
  arguments: ['KID'],
  parse: (args) => ({ kid: args.positionals[0]!, force: flag(args, 'force') }),
  async run({ keys, audit }, input) {
    const { key, forced } = await keys().retire(input.kid, { force: input.force });
    await audit({ type: 'key.retired', subject: key.kid, details: { alg: key.alg, forced } });
    const warning = forced ? '\nForced: tokens signed with this key that have not expired yet no longer verify anywhere once verifiers refresh their keys.' : '';
    return { json: { retired: true, forced, key }, human: `Retired key ${key.kid}; it leaves the JWKS of every instance within seconds.${warning}\n${describe(key)}` };
  },
});

export const keyCommands: CommandGroup = {
  name: 'keys',
  summary: 'Signing keys and their rotation',
  commands: { list, rotate, retire },
};
