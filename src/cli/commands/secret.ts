// `latchkey secret …`: the master secret (LATCHKEY_SECRET). `generate` prints
// a fresh one that meets the rule in config/master-secret-rule.ts; `rotate`
// re-seals the keys at rest from the previous secret (read from stdin) to
// the one configured now.
import { flag } from '../args.ts';
import { defineCommand, defineStandaloneCommand, type CommandGroup } from '../command.ts';
import { generateMasterSecret } from '../../config/master-secret-rule.ts';
import { readSecretFromStdin } from '../stdin.ts';
import { UsageError } from '../usage-error.ts';
import { createIdpSecretSealer } from '../../federation/identity-provider-service.ts';

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

const rotate = defineCommand<string>({
  usage: 'rotate --old-secret-stdin',
  summary: 'Re-seal every signing and cookie key, and every identity provider client secret, from the previous master secret (read from stdin) to LATCHKEY_SECRET',
  options: { 'old-secret-stdin': { type: 'boolean' } },
  async parse(args, input) {
    if (!flag(args, 'old-secret-stdin')) throw new UsageError('missing required option --old-secret-stdin (the previous secret is read from stdin)');
    const previous = await readSecretFromStdin(input);
    if (!previous) throw new UsageError('the previous secret read from stdin is empty');
    return previous;
  },
  async run({ resealKeys, services, audit }, previous) {
    const result = await resealKeys(previous);
    // Upstream identity providers' client secrets, sealed under their own key from the same master secret.
    const idps = await services.identityProviders.resealSecrets(createIdpSecretSealer(previous));
    await audit({ type: 'secret.rotated', details: { resealed: result.resealed, alreadyCurrent: result.alreadyCurrent, idpSecretsResealed: idps.resealed } });
    return {
      json: { ...result, identityProviders: idps },
      human:
        `Re-sealed ${result.resealed} key(s) under LATCHKEY_SECRET (${result.alreadyCurrent} already were) and ${idps.resealed} identity provider secret(s) (${idps.alreadyCurrent} already were). ` +
        'Restart every instance with the new LATCHKEY_SECRET.',
    };
  },
});

export const secretCommands: CommandGroup = {
  name: 'secret',
  summary: 'The master secret that seals keys at rest',
  commands: { generate, rotate },
};
