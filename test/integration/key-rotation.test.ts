// Key rotation without breaking anyone, on two real Latchkey instances sharing
// one database and issuer, rotated by the real `latchkey keys` CLI: the new
// key is published at once and signs only after the delay; tokens signed
// before keep verifying; a resource server that cached the old JWKS takes the
// new tokens through its one refetch; the other instance follows without a
// restart; retiring is refused while tokens may still carry the key. Then the
// rules themselves, with a moved clock: retirement after the grace, and the
// schedule, which rotates exactly once however many instances run it.
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { createKeyRepository } from '../../src/keys/key-repository.ts';
import { createKeyRotationService, type KeyRotationPolicy, type KeyStatus } from '../../src/keys/key-rotation.ts';
import { createKeyService } from '../../src/keys/key-service.ts';
import { createSealer } from '../../src/keys/sealing.ts';
import { createVerifier, type Verifier } from '../../packages/verify/src/index.ts';
import { runCli } from '../helpers/cli.ts';
import { createRelyingParty, signInAndAllow } from '../helpers/rp.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ORDERS = 'https://orders.example.test/api';
const SECRET = randomBytes(32).toString('base64url');
// Long enough to check "published, not signing yet" on a slow machine; short enough to wait for.
const ACTIVATE_AFTER = 6;
const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';

let database: TestDatabase;
let issuer: string;
let a: TestServer;
let b: TestServer;
let urlA: string;
let urlB: string;
let service: { id: string; secret: string };
let web: { id: string; secret: string };
let jwksFetches = 0;
let rsaKid: string;
let cachedVerifier: Verifier;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}

async function accessToken(url: string): Promise<string> {
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token from ${url}: ${JSON.stringify(body)}`);
  return body.access_token;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const publishedKids = async (url: string) => ((await (await fetch(`${url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);

async function keysCli(args: readonly string[]) {
  // --json before the arguments: a kid comes after --, where options are no longer read.
  const [command, ...rest] = args;
  const result = await runCli(['keys', command!, '--json', ...rest], { env: { DATABASE_URL: database.url, LATCHKEY_SECRET: SECRET } });
  return { code: result.code, body: JSON.parse(result.stdout) as Record<string, any>, stderr: result.stderr };
}

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  // What a deployment shares: the database, the issuer URL, the master secret.
  const env = { ISSUER: issuer, LATCHKEY_SECRET: SECRET, LATCHKEY_KEY_WATCH_INTERVAL: '1' };
  a = await startTestServer({ database, env: { ...env, PORT: String(port) } });
  b = await startTestServer({ database, env });
  urlA = issuer;
  urlB = `http://127.0.0.1:${b.config.port}`;
  await a.services.resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
  const created = await a.services.clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [ORDERS] });
  service = { id: created.client.clientId, secret: created.clientSecret! };
  const webApp = await a.services.clients.create({ name: 'Web app', redirectUris: [CALLBACK], resources: [ORDERS] });
  web = { id: webApp.client.clientId, secret: webApp.clientSecret! };
  await a.services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
  rsaKid = (await database.db.prisma.signingKey.findFirstOrThrow({ where: { alg: 'RS256' } })).kid;

  const countingFetch: typeof fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/jwks')) jwksFetches += 1;
    return fetch(input, init);
  };
  // A resource server that learnt the keys before the rotation; at most one refetch a minute.
  cachedVerifier = createVerifier({ issuer, audience: ORDERS, fetch: countingFetch, refetchCooldownMs: 60_000 });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await database?.drop();
});

describe('keys rotate on two running instances', () => {
  let oldKid: string;
  let tokenBefore: string;
  let rotated: KeyStatus & { activatesAt: string };

  it('starts with one ES256 key that both instances sign with', async () => {
    tokenBefore = await accessToken(urlA);
    oldKid = kidOf(tokenBefore)!;
    expect(kidOf(await accessToken(urlB))).toBe(oldKid);
    await cachedVerifier.verify(tokenBefore);
    expect(jwksFetches).toBe(1);
  });

  it('publishes the new key at once on both instances, while tokens are still signed with the old one', async () => {
    const { code, body } = await keysCli(['rotate', '--alg', 'ES256', '--activate-after', String(ACTIVATE_AFTER)]);
    expect(code).toBe(0);
    rotated = body.key;
    expect(rotated).toMatchObject({ alg: 'ES256', state: 'published', signing: false, supersededAt: null });
    const activatesAt = Date.parse(rotated.activatesAt);

    for (const url of [urlA, urlB]) {
      expect(await eventually(() => publishedKids(url), (kids) => kids.includes(rotated.kid))).toContain(rotated.kid);
    }
    const before = [await accessToken(urlA), await accessToken(urlB)];
    // Only meaningful if the activation is still ahead: the delay leaves seconds of margin.
    expect(Date.now()).toBeLessThan(activatesAt - 500);
    expect(before.map(kidOf)).toEqual([oldKid, oldKid]);
    await cachedVerifier.verify(before[0]!);
    expect(jwksFetches, 'nothing new to learn yet').toBe(1);
  });

  it('after the delay, both instances sign with the new key, without a restart', async () => {
    await sleep(Math.max(0, Date.parse(rotated.activatesAt) - Date.now()));
    for (const url of [urlA, urlB]) {
      const token = await eventually(() => accessToken(url), (t) => kidOf(t) === rotated.kid, 3000);
      expect(kidOf(token)).toBe(rotated.kid);
    }
  });

  it('a resource server with the old JWKS cached accepts the new tokens through a single refetch', async () => {
    const fresh = await accessToken(urlB);
    const verified = await cachedVerifier.verify(fresh);
    expect(verified.header.kid).toBe(rotated.kid);
    expect(jwksFetches).toBe(2);
    // Many more new tokens: no further fetch.
    for (let i = 0; i < 5; i++) await cachedVerifier.verify(await accessToken(i % 2 ? urlA : urlB));
    expect(jwksFetches).toBe(2);
  });

  it('a person signs in on an instance that swapped providers: its login pages and the new provider share every artifact', async () => {
    const rp = await createRelyingParty({ issuer, clientId: web.id, clientSecret: web.secret, redirectUri: CALLBACK });
    const { request, callback } = await signInAndAllow(rp, { email: 'ada@example.test', password: PASSWORD }, { scope: 'openid orders:read', resource: ORDERS });
    const tokens = await rp.exchange(callback, request);
    expect(tokens.claims()!.sub).toEqual(expect.any(String));
    expect(kidOf(tokens.access_token)).toBe(rotated.kid);
    expect((await cachedVerifier.verify(tokens.access_token)).claims.sub).toBe(tokens.claims()!.sub);
  });

  it('tokens signed before the rotation still verify, for that resource server and a new one', async () => {
    expect((await cachedVerifier.verify(tokenBefore)).header.kid).toBe(oldKid);
    const newcomer = createVerifier({ issuer, audience: ORDERS });
    expect((await newcomer.verify(tokenBefore)).claims.client_id).toBe(service.id);
    expect(await publishedKids(urlA)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
  });

  it('lists the keys with their timelines', async () => {
    const { code, body } = await keysCli(['list']);
    expect(code).toBe(0);
    const byKid = new Map((body.keys as KeyStatus[]).map((key) => [key.kid, key]));
    expect(byKid.get(rotated.kid)).toMatchObject({ state: 'active', signing: true, retirableAt: null });
    expect(byKid.get(oldKid)).toMatchObject({ state: 'active', signing: false, supersededAt: rotated.activatesAt });
    expect(Date.parse(byKid.get(oldKid)!.retirableAt as unknown as string)).toBeGreaterThanOrEqual(Date.parse(rotated.activatesAt) + 86_400_000);
  });

  it.each([
    // Key ids are base64url and may start with '-', so they always go after --.
    ['an unknown kid', () => ['retire', 'no-such-kid'], 1, 'not_found'],
    ['the old key, superseded seconds ago', () => ['retire', '--', oldKid], 1, 'key_in_use'],
    ['the signing key', () => ['retire', '--', rotated.kid], 1, 'key_in_use'],
    ['the only RS256 key, even with --force', () => ['retire', '--force', '--', rsaKid], 1, 'key_in_use'],
    ['a retire without a kid', () => ['retire'], 2, 'usage_error'],
    ['a rotation of an unknown alg', () => ['rotate', '--alg', 'HS256'], 1, 'invalid_input'],
    ['a rotation with a delay that is not whole seconds', () => ['rotate', '--activate-after=1.5'], 1, 'invalid_input'],
  ])('refuses %s', async (_name, args, exitCode, errorCode) => {
    const before = await database.db.prisma.signingKey.findMany({ orderBy: { kid: 'asc' } });
    const { code, body, stderr } = await keysCli(args());
    expect({ code, error: body.error?.code }).toEqual({ code: exitCode, error: errorCode });
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(await database.db.prisma.signingKey.findMany({ orderBy: { kid: 'asc' } })).toEqual(before);
  });

  it('refuses a second rotation while one is pending, and says which', async () => {
    const first = await keysCli(['rotate', '--alg', 'EdDSA', '--activate-after', '3600']);
    expect(first.code).toBe(0);
    const second = await keysCli(['rotate', '--alg', 'EdDSA']);
    expect({ code: second.code, error: second.body.error?.code }).toEqual({ code: 1, error: 'already_exists' });
    expect(second.body.error.message).toContain(first.body.key.kid);
    // A pending key never signed: it may be withdrawn at once, without --force.
    const withdrawn = await keysCli(['retire', '--', first.body.key.kid]);
    expect(withdrawn.body).toMatchObject({ retired: true, forced: false });
  });

  it('retire --force takes the old key out of every instance’s JWKS; its tokens stop verifying for new verifiers', async () => {
    const { code, body } = await keysCli(['retire', '--force', '--', oldKid]);
    expect(code).toBe(0);
    expect(body).toMatchObject({ retired: true, forced: true, key: { kid: oldKid, state: 'retired' } });
    for (const url of [urlA, urlB]) {
      expect(await eventually(() => publishedKids(url), (kids) => !kids.includes(oldKid))).not.toContain(oldKid);
    }
    const newcomer = createVerifier({ issuer, audience: ORDERS });
    await expect(newcomer.verify(tokenBefore)).rejects.toMatchObject({ code: 'unknown_key' });
    const again = await keysCli(['retire', '--', oldKid]);
    expect({ code: again.code, error: again.body.error?.code }).toEqual({ code: 1, error: 'invalid_input' });
  });
});

describe('the rotation rules with a moved clock', () => {
  let testDb: TestDatabase;
  let clock: number;
  const now = () => new Date(clock);
  const DAY = 24 * 3600 * 1000;
  const policy: KeyRotationPolicy = { activationDelaySec: 3600, retireGraceSec: 86_400 + 305, rotationDays: 30 };
  const sealer = createSealer(SECRET);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    clock = Date.now();
    await createKeyService({ keys: createKeyRepository(testDb.db.prisma, testDb.db.dialect), sealer, now }).ensureKeys();
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  const rotation = (db = testDb.db) => createKeyRotationService({ keys: createKeyRepository(db.prisma, db.dialect), sealer, policy, now });

  it('retires a superseded key without --force once the grace has passed, not a second earlier', async () => {
    const fresh = await rotation().rotate({ alg: 'RS256', activateAfterSec: 60 });
    const old = (await rotation().list()).find((key) => key.alg === 'RS256' && key.kid !== fresh.kid)!;
    clock += 60_000 + policy.retireGraceSec * 1000 - 1000;
    await expect(rotation().retire(old.kid)).rejects.toMatchObject({ code: 'key_in_use' });
    clock += 1000;
    expect(await rotation().retire(old.kid)).toMatchObject({ forced: false, key: { kid: old.kid, state: 'retired' } });
  });

  it('refuses to rotate with a wrong master secret, before writing anything', async () => {
    const wrong = createKeyRotationService({ keys: createKeyRepository(testDb.db.prisma, testDb.db.dialect), sealer: createSealer('another-master-secret-of-enough-length!!'), policy, now });
    const count = await testDb.db.prisma.signingKey.count();
    await expect(wrong.rotate({ alg: 'ES256' })).rejects.toMatchObject({ code: 'key_unavailable' });
    expect(await testDb.db.prisma.signingKey.count()).toBe(count);
  });

  it('the schedule rotates each due alg exactly once, however many instances run it at the same moment', async () => {
    clock += 31 * DAY;
    const connections = await Promise.all([1, 2, 3].map(() => openDatabase(testDb.config, { poolSize: 2 })));
    try {
      const services = connections.map((db) => rotation(db));
      expect(services[0]!.maintenanceDue(await createKeyRepository(testDb.db.prisma, testDb.db.dialect).listKeyTimelines(), now())).toBe(true);
      const results = await Promise.all(services.map((s) => s.runMaintenance()));
      const rotated = results.flatMap((result) => result.rotated);
      expect(rotated.map((key) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
      expect(rotated.every((key) => key.state === 'published' && key.activatesAt!.getTime() === clock + 3600_000)).toBe(true);
      expect(results.filter((result) => result.rotated.length > 0)).toHaveLength(1);
    } finally {
      for (const db of connections) await db.close();
    }
  });

  it('the schedule later retires the keys it superseded, once their grace has run out', async () => {
    const list = await rotation().list();
    const superseded = list.filter((key) => key.state === 'active').map((key) => key.kid);
    clock += 3600_000 + policy.retireGraceSec * 1000;
    const { rotated, retired } = await rotation().runMaintenance();
    expect(rotated).toEqual([]);
    expect(retired.map((key) => key.kid).sort()).toEqual(superseded.sort());
    const after = await rotation().list();
    for (const alg of ['ES256', 'RS256', 'EdDSA']) {
      expect(after.filter((key) => key.alg === alg && key.state === 'active').map((key) => key.signing)).toEqual([true]);
    }
    expect(rotation().maintenanceDue(await createKeyRepository(testDb.db.prisma, testDb.db.dialect).listKeyTimelines(), now())).toBe(false);
  });
});

describe('the schedule in running servers (LATCHKEY_KEY_ROTATION_DAYS)', () => {
  let testDb: TestDatabase;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    // Keys created two days ago, as if the deployment had been running since.
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await createKeyService({ keys: createKeyRepository(testDb.db.prisma, testDb.db.dialect), sealer: createSealer(SECRET), now: () => twoDaysAgo }).ensureKeys();
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await testDb?.drop();
  });

  it('two instances due for rotation rotate each alg once between them, and both sign with the new keys after the delay', async () => {
    const before = await testDb.db.prisma.signingKey.findMany();
    const env = { LATCHKEY_SECRET: SECRET, LATCHKEY_KEY_ROTATION_DAYS: '1', LATCHKEY_KEY_ACTIVATION_DELAY: '2', LATCHKEY_KEY_WATCH_INTERVAL: '1' };
    servers.push(await startTestServer({ database: testDb, env }), await startTestServer({ database: testDb, env }));
    const rows = await eventually(() => testDb.db.prisma.signingKey.findMany(), (all) => all.length >= before.length * 2);
    await sleep(1500); // room for a second, wrongful rotation to show up
    const after = await testDb.db.prisma.signingKey.findMany();
    expect(after).toHaveLength(rows.length);
    expect(after.map((key) => key.alg).sort()).toEqual(['ES256', 'ES256', 'EdDSA', 'EdDSA', 'RS256', 'RS256']);

    const fresh = after.filter((key) => !before.some((old) => old.kid === key.kid));
    const kids = async (server: TestServer) => ((await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
    for (const server of servers) {
      const published = await eventually(() => kids(server), (list) => fresh.every((key) => list.includes(key.kid)));
      expect(published).toEqual(expect.arrayContaining([...before, ...fresh].map((key) => key.kid)));
    }
    const { resources, clients } = servers[0]!.services;
    await resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
    const job = await clients.create({ name: 'Nightly job', grantTypes: ['client_credentials'], resources: [ORDERS] });
    const tokenFrom = async (server: TestServer) => {
      const response = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${job.client.clientId}:${job.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      return ((await response.json()) as { access_token: string }).access_token;
    };
    const es256 = fresh.find((key) => key.alg === 'ES256')!;
    await sleep(Math.max(0, es256.activatesAt!.getTime() - Date.now()));
    for (const server of servers) {
      const token = await eventually(() => tokenFrom(server), (t) => kidOf(t) === es256.kid, 3000);
      expect(kidOf(token)).toBe(es256.kid);
    }
  });
});
