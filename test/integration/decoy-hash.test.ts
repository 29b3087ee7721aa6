// An unknown email's password is verified against a decoy hash, so that a
// miss costs what a wrong password costs. Which argon2 parameters the decoy
// has is what makes the two take the same time: those of the slowest stored
// hash, whatever the configured ones are (an operator may have lowered or
// raised LATCHKEY_ARGON2_*; stored hashes keep the parameters they were made
// with). Checked on the hash each sign-in is verified against, so the test
// is exact where a timing would be noisy; bench/login-timing.ts measures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountRepository } from '../../src/accounts/account-repository.ts';
import { createAccountService } from '../../src/accounts/account-service.ts';
import { createDecoyHash } from '../../src/accounts/decoy-hash.ts';
import { createPasswordHasher, type PasswordHashParams } from '../../src/accounts/password-hasher.ts';
import { createArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const CONFIGURED: PasswordHashParams = { memoryCost: 7168, timeCost: 5, parallelism: 1 };
/** Weaker than configured (as before an operator raised the parameters). */
const WEAKER: PasswordHashParams = { memoryCost: 4096, timeCost: 1, parallelism: 1 };
/** OWASP's 19 MiB × 2: stronger than configured in memory, about twice its CPU. */
const STRONGER: PasswordHashParams = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
const PASSWORD = 'correct horse battery staple';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb?.drop();
});

/** An account service on the test database whose hasher notes every hash a password is verified against. */
function recordingService(params: PasswordHashParams = CONFIGURED) {
  const real = createPasswordHasher(params);
  const verified: string[] = [];
  const hasher: typeof real = {
    ...real,
    verify(hash, password) {
      verified.push(hash);
      return real.verify(hash, password);
    },
  };
  const accounts = createAccountService({ repository: createAccountRepository(testDb.db), hasher, artifacts: createArtifactRepository(testDb.db) });
  return { accounts, verified };
}

function parametersOf(hash: string | undefined): PasswordHashParams {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash ?? '');
  if (!match) throw new Error(`not an argon2id hash: ${hash}`);
  return { memoryCost: Number(match[1]), timeCost: Number(match[2]), parallelism: Number(match[3]) };
}

/** The parameters an unknown email's password was verified against, by a fresh service (as after a restart). */
async function decoyParameters(service = recordingService()): Promise<PasswordHashParams> {
  expect(await service.accounts.authenticate('nobody@nowhere.test', 'a wrong password')).toBeUndefined();
  return parametersOf(service.verified.at(-1));
}

describe('the decoy hash for unknown emails', () => {
  it('has the configured parameters while there is no account', async () => {
    expect(await decoyParameters()).toEqual(CONFIGURED);
  });

  it('has the stored parameters when every stored hash is weaker than configured', async () => {
    await recordingService(WEAKER).accounts.create({ email: 'weak@example.test', password: PASSWORD });
    expect(await decoyParameters()).toEqual(WEAKER);
  });

  it('ignores stored hashes that are not argon2 PHC strings', async () => {
    for (const [index, passwordHash] of ['', 'h', '$', '$$$$', '$2b$12$abcdefghijklmnopqrstuv', '$argon2id$v=19$m=99999999$x$y'].entries()) {
      await testDb.db.prisma.account.create({ data: { id: `odd-${index}`, email: `odd-${index}@example.test`, passwordHash } });
    }
    expect(await decoyParameters()).toEqual(WEAKER);
  });

  it('has the slowest stored parameters when some hashes are stronger than configured', async () => {
    await recordingService(CONFIGURED).accounts.create({ email: 'configured@example.test', password: PASSWORD });
    await recordingService(STRONGER).accounts.create({ email: 'strong@example.test', password: PASSWORD });
    const service = recordingService();
    // A known email with a wrong password is verified against its stored hash: the decoy must cost the same.
    expect(await service.accounts.authenticate('strong@example.test', 'a wrong password')).toBeUndefined();
    expect(parametersOf(service.verified.at(-1))).toEqual(STRONGER);
    expect(await decoyParameters(service)).toEqual(STRONGER);
  });

  it('follows the stored hashes when they change: a new password, an upgrade at sign-in', { timeout: 30_000 }, async () => {
    const service = recordingService();
    expect(await decoyParameters(service)).toEqual(STRONGER);
    // The only stronger hash is replaced by one with the configured parameters…
    await service.accounts.setPassword('strong@example.test', PASSWORD);
    await expect.poll(() => decoyParameters(service), { timeout: 10_000, interval: 50 }).toEqual(CONFIGURED);
    // …and the weaker one is upgraded at its next sign-in: the configured set stays the slowest.
    expect(await service.accounts.authenticate('weak@example.test', PASSWORD)).toMatchObject({ email: 'weak@example.test' });
    expect(parametersOf((await testDb.db.prisma.account.findUniqueOrThrow({ where: { email: 'weak@example.test' } })).passwordHash!)).toEqual(CONFIGURED);
    expect(await decoyParameters(service)).toEqual(CONFIGURED);
  });

  it('reads the stored parameters once for a burst of changes, not once per change', async () => {
    const repository = createAccountRepository(testDb.db);
    let reads = 0;
    const decoy = createDecoyHash({
      repository: { passwordHashParameterSets: () => ((reads += 1), repository.passwordHashParameterSets()) },
      hasher: createPasswordHasher(CONFIGURED),
    });
    await decoy.refresh();
    expect(reads).toBe(0); // never needed yet: nothing to refresh
    await Promise.all(Array.from({ length: 20 }, () => decoy.hash()));
    expect(reads).toBe(1);
    await Promise.all(Array.from({ length: 20 }, () => decoy.refresh()));
    expect(reads).toBe(2);
    // The next change waits out the gap after that re-read; the decoy there is keeps serving.
    void decoy.refresh();
    expect(parametersOf(await decoy.hash())).toEqual(CONFIGURED);
    expect(reads).toBe(2);
  });
});
