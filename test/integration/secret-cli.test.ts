// `latchkey secret generate` makes a LATCHKEY_SECRET that meets the rule,
// with no configuration or database in place (it is how one starts), and a
// server refuses to start on a passphrase, saying what to do instead.
import { describe, expect, it } from 'vitest';
import { masterSecretProblem } from '../../src/config/master-secret-rule.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { startTestServer } from '../helpers/server.ts';

describe('latchkey secret generate', () => {
  it('prints a fresh secret that meets the rule, needing no configuration at all', async () => {
    // Production without LATCHKEY_SECRET or a database: any other command stops on the configuration.
    const env = { NODE_ENV: 'production' };
    const [first, second] = await Promise.all([runCli(['secret', 'generate', '--json'], { env }), runCli(['secret', 'generate'], { env })]);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const { secret } = JSON.parse(first.stdout) as { secret: string };
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(masterSecretProblem(secret)).toBeUndefined();
    expect(second.code).toBe(0);
    expect(second.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.stdout.trim()).not.toBe(secret);
  });

  it('is listed in help', async () => {
    const help = await runCli(['help', 'secret']);
    expect(help.stdout).toContain('latchkey secret generate');
  });
});

describe('a weak LATCHKEY_SECRET', () => {
  it('stops the CLI with one line naming the variable and the way out', async () => {
    const result = await runCli(['user', 'list', '--json'], { env: { LATCHKEY_SECRET: 'CorrectHorseBatteryStapleIsMyFavouriteSecret', DATABASE_URL: 'file:/nonexistent/never-opened.db' } });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'config_invalid',
        message:
          'LATCHKEY_SECRET: does not look random: it reads like typed text (words, names, numbers); generate one with `latchkey secret generate` (or `openssl rand -base64 32`); to replace a secret already in use, see `latchkey secret rotate`',
      },
    });
    expect(result.stdout + result.stderr).not.toContain('CorrectHorse');
  });

  it('stops the server before it touches the database', async () => {
    const database = await createTestDatabase();
    try {
      await expect(startTestServer({ database, env: { LATCHKEY_SECRET: 'my production passphrase, long enough' } })).rejects.toMatchObject({ code: 'config_invalid', variable: 'LATCHKEY_SECRET' });
    } finally {
      await database.drop();
    }
  });
});
