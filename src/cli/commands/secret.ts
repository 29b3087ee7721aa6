// `latchkey secret …`: the master secret (LATCHKEY_SECRET). `generate` prints
// a fresh one that meets the rule in config/master-secret-rule.ts.
import { defineStandaloneCommand, type CommandGroup } from '../command.ts';
import { generateMasterSecret } from '../../config/master-secret-rule.ts';

const generate = defineStandaloneCommand<void>({
  usage: 'generate',
  summary: 'Print a new master secret for LATCHKEY_SECRET (32 random bytes, base64url); nothing is stored',
  options: {},
  parse: () => undefined,
  run() {
    const secret = generateMasterSecret();
    return { json: { secret }, human: secret };
  },
});

export const secretCommands: CommandGroup = {
  name: 'secret',
  summary: 'The master secret that seals keys at rest',
  commands: { generate },
};
