// The back-off rules against a real database (SQLite, or PostgreSQL with
// DATABASE_URL), on a clock the test moves: blocks grow and stop at the cap,
// failures are forgotten after an hour of quiet, concurrent failures are all
// counted, idle keys are purged. Then the login guard's exact rule, with real
// accounts and argon2: the owner gets in from elsewhere once the account's cap
// has passed, at once from a browser they used before, and a blocked attempt
// costs no password check.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccountRepository } from '../../src/accounts/account-repository.ts';
import { createArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createAccountService } from '../../src/accounts/account-service.ts';
import { createPasswordHasher } from '../../src/accounts/password-hasher.ts';
import { createConcurrencyLimit } from '../../src/throttle/concurrency-limit.ts';
import { createLoginGuard, type LoginOutcome } from '../../src/throttle/login-guard.ts';
import { createThrottleKeys, type ThrottleKey } from '../../src/throttle/throttle-keys.ts';
import { createThrottleRepository } from '../../src/throttle/throttle-repository.ts';
import { createThrottleService } from '../../src/throttle/throttle-service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const START = Date.parse('2026-12-01T09:00:00Z');
const PASSWORD = 'correct horse battery staple';

let database: TestDatabase;
let clock = START;
const advance = (seconds: number) => (clock += seconds * 1000);

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  clock = START;
  await database.db.prisma.throttle.deleteMany();
});

const service = () => createThrottleService({ repository: createThrottleRepository(database.db), now: () => clock });
const pair = (id: string): ThrottleKey => ({ scope: 'login_account_ip', id });

describe('throttle service', () => {
  it('lets four failures go free, then blocks for 15 s, 30 s, 1 min … and never longer than the cap', async () => {
    const throttle = service();
    const key = pair('k1');
    for (let failure = 1; failure <= 4; failure++) {
      expect(await throttle.fail([key])).toBe(0);
      expect(await throttle.check([key])).toMatchObject({ allowed: true, retryAfter: 0 });
    }
    const blocks: number[] = [];
    for (let failure = 5; failure <= 13; failure++) {
      const seconds = await throttle.fail([key]);
      blocks.push(seconds);
      expect(await throttle.check([key])).toEqual({ allowed: false, retryAfter: seconds, blockedBy: 'login_account_ip', blocked: ['login_account_ip'], counted: [key] });
      advance(seconds - 1);
      expect((await throttle.check([key])).retryAfter).toBe(1);
      advance(1);
      expect((await throttle.check([key])).allowed).toBe(true);
    }
    expect(blocks).toEqual([15, 30, 60, 120, 240, 480, 900, 900, 900]);
  });

  it('reports the longest block among the keys, and which scope it is', async () => {
    const throttle = service();
    const account: ThrottleKey = { scope: 'login_account', id: 'a' };
    for (let failure = 0; failure < 10; failure++) await throttle.fail([pair('p'), account]);
    // (account, IP): 10th failure = 15 s x 2^5; account: 10th failure = 15 s.
    expect(await throttle.check([account, pair('p')])).toMatchObject({ allowed: false, retryAfter: 480, blockedBy: 'login_account_ip', blocked: ['login_account', 'login_account_ip'] });
    advance(15);
    expect(await throttle.check([account])).toMatchObject({ allowed: true });
  });

  it('forgets the failures of a key after an hour without one, but not while failures keep coming', async () => {
    const throttle = service();
    const key = pair('k2');
    for (let failure = 0; failure < 4; failure++) {
      await throttle.fail([key]);
      advance(59 * 60);
    }
    // Four failures 59 minutes apart still add up: the fifth blocks.
    expect(await throttle.fail([key])).toBe(15);
    advance(3600);
    expect(await throttle.fail([key])).toBe(0);
    expect((await database.db.prisma.throttle.findUnique({ where: { key: `login_account_ip:k2` } }))?.failures).toBe(1);
  });

  it('counts every one of many failures recorded at the same moment (atomic increments)', async () => {
    const throttles = [service(), service(), service()];
    const key = pair('k3');
    await Promise.all(Array.from({ length: 30 }, (_, index) => throttles[index % 3]!.fail([key])));
    const row = await database.db.prisma.throttle.findUnique({ where: { key: 'login_account_ip:k3' } });
    expect(row?.failures).toBe(30);
    // 30th failure: 15 s x 2^25, capped.
    expect(row?.blockedUntil?.getTime()).toBe(START + 900_000);
  });

  it('clears on success only what a success clears', async () => {
    const throttle = service();
    const keys: ThrottleKey[] = [pair('k4'), { scope: 'login_ip', id: 'i' }, { scope: 'login_account', id: 'a' }, { scope: 'client_at_ip', id: 'c' }, { scope: 'client_ip', id: 'ci' }];
    await throttle.fail(keys);
    const { counted } = await throttle.check(keys);
    expect(counted).toEqual(keys);
    await throttle.succeed(counted);
    expect((await throttle.check(keys)).counted.map((key) => key.scope)).toEqual(['login_ip', 'login_account', 'client_ip']);
  });

  it('purges keys idle for over an hour and keeps the others', async () => {
    const throttle = service();
    await throttle.fail([pair('old')]);
    advance(3601);
    await throttle.fail([pair('recent')]);
    expect(await throttle.purgeIdle()).toBe(1);
    expect((await database.db.prisma.throttle.findMany()).map((row) => row.key)).toEqual(['login_account_ip:recent']);
  });
});

describe('login guard', () => {
  const keys = createThrottleKeys('s'.repeat(40));
  let authentications = 0;

  async function guard(options: { concurrency?: number; queue?: number } = {}) {
    const accounts = createAccountService({
      repository: createAccountRepository(database.db),
      hasher: createPasswordHasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 }),
      artifacts: createArtifactRepository(database.db),
    });
    if (!(await accounts.findByEmail('owner@example.test'))) await accounts.create({ email: 'owner@example.test', password: PASSWORD });
    const hashing = createConcurrencyLimit({ concurrency: options.concurrency ?? 2, queue: options.queue ?? 8 });
    const counting = {
      authenticate(email: string, password: string) {
        authentications++;
        return accounts.authenticate(email, password);
      },
    };
    return { hashing, guard: createLoginGuard({ accounts: counting, throttle: service(), keys, hashing }) };
  }

  let pages = 0;
  // A login page of its own for each attempt, unless one is named.
  const attempt = (ip: string, password: string, knownAccounts: string[] = [], interaction = `page-${++pages}`) => ({ email: 'Owner@example.test', password, ip, knownAccounts, interaction });
  const kind = (outcome: LoginOutcome) => (outcome.kind === 'throttled' ? `throttled:${outcome.scope}` : outcome.kind);

  it('keeps a guesser on many addresses at the account cap, while the owner gets in from a new place once it passes, and at once from a known browser', async () => {
    const { guard: login } = await guard();
    const signedIn = await login.signIn(attempt('198.51.100.1', PASSWORD));
    expect(signedIn.kind).toBe('signed_in');
    const device = signedIn.kind === 'signed_in' ? signedIn.accountDigest : '';

    // Ten addresses, one guess each: no (account, IP) or IP key is near its limit.
    for (let host = 1; host <= 10; host++) expect(kind(await login.signIn(attempt(`203.0.113.${host}`, 'wrong password')))).toBe('refused');
    authentications = 0;
    const blocked = await login.signIn(attempt('192.0.2.50', PASSWORD));
    expect(blocked).toEqual({ kind: 'throttled', retryAfter: 15, scope: 'login_account' });
    expect(authentications).toBe(0);

    // The owner's own browser is not held by the account key.
    expect(kind(await login.signIn(attempt('192.0.2.60', PASSWORD, [device])))).toBe('signed_in');

    // The guessers keep going, each time the block ends; the block stops growing at 5 minutes.
    const retryAfters: number[] = [];
    for (let round = 0; round < 8; round++) {
      const refused = await login.signIn(attempt('203.0.113.99', 'wrong password'));
      expect(refused.kind).toBe('throttled');
      advance((refused as { retryAfter: number }).retryAfter);
      expect(kind(await login.signIn(attempt(`203.0.113.${20 + round}`, 'wrong password')))).toBe('refused');
      retryAfters.push((refused as { retryAfter: number }).retryAfter);
    }
    expect(retryAfters).toEqual([15, 30, 60, 120, 240, 300, 300, 300]);

    // A new browser in a new place: refused for at most the cap, then in.
    const waiting = await login.signIn(attempt('192.0.2.70', PASSWORD));
    expect(waiting).toEqual({ kind: 'throttled', retryAfter: 300, scope: 'login_account' });
    advance(300);
    expect(kind(await login.signIn(attempt('192.0.2.70', PASSWORD)))).toBe('signed_in');
  });

  it('holds one address to five guesses on an account, even with the right password; the next address is not held', async () => {
    const { guard: login } = await guard();
    for (let guess = 0; guess < 5; guess++) expect(kind(await login.signIn(attempt('203.0.113.5', 'wrong password')))).toBe('refused');
    authentications = 0;
    expect(await login.signIn(attempt('203.0.113.5', PASSWORD))).toEqual({ kind: 'throttled', retryAfter: 15, scope: 'login_account_ip' });
    expect(authentications).toBe(0);
    expect(kind(await login.signIn(attempt('203.0.113.6', PASSWORD)))).toBe('signed_in');
    advance(15);
    expect(kind(await login.signIn(attempt('203.0.113.5', PASSWORD)))).toBe('signed_in');
    // That success cleared the pair's count: five more tries before a block.
    for (let guess = 0; guess < 4; guess++) expect(kind(await login.signIn(attempt('203.0.113.5', 'wrong password')))).toBe('refused');
    expect(kind(await login.signIn(attempt('203.0.113.5', PASSWORD)))).toBe('signed_in');
  });

  it('answers busy without checking anything when every slot and queue place is taken, and counts nothing', async () => {
    const { guard: login, hashing } = await guard({ concurrency: 1, queue: 0 });
    let release!: () => void;
    const occupied = hashing.run('203.0.113.7', () => new Promise<void>((resolve) => (release = resolve)));
    authentications = 0;
    expect(await login.signIn(attempt('203.0.113.7', 'wrong password'))).toEqual({ kind: 'busy' });
    expect(authentications).toBe(0);
    release();
    await occupied;
    expect(await database.db.prisma.throttle.count()).toBe(0);
    expect(kind(await login.signIn(attempt('203.0.113.7', PASSWORD)))).toBe('signed_in');
  });

  it('takes ten wrong passwords on one login page, from anywhere for any account, then refuses it without checking', async () => {
    const { guard: login } = await guard();
    for (let n = 1; n <= 10; n++) {
      const sprayed = { ...attempt(`198.51.100.${n}`, 'wrong password', [], 'one-page'), email: `someone${n}@example.test` };
      expect(kind(await login.signIn(sprayed))).toBe('refused');
    }
    authentications = 0;
    expect(await login.signIn(attempt('198.51.100.77', PASSWORD, [], 'one-page'))).toEqual({ kind: 'exhausted' });
    expect(authentications).toBe(0);
    expect(kind(await login.signIn(attempt('198.51.100.77', PASSWORD, [], 'another-page')))).toBe('signed_in');
  });

  it('checks again once a queued attempt gets its turn, so a burst sent at once cannot outrun the count', async () => {
    const { guard: login } = await guard({ concurrency: 1, queue: 20 });
    authentications = 0;
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => login.signIn(attempt('203.0.113.8', 'wrong password'))));
    // Which ones is up to the scheduler; how many is not.
    expect(outcomes.map(kind).sort()).toEqual([...new Array<string>(5).fill('refused'), ...new Array<string>(7).fill('throttled:login_account_ip')]);
    expect(authentications).toBe(5);
  });
});
