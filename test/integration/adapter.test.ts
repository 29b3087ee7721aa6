// The oidc-provider adapter against a real database (SQLite by default,
// PostgreSQL when DATABASE_URL points at one), first method by method, then
// driven by a real Provider through its own model API.
import { randomUUID } from 'node:crypto';
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactConsumedError } from '../../src/errors.ts';
import { createAdapterFactory, MAX_KEY_LENGTH } from '../../src/oidc/adapter.ts';
import { artifactKey } from '../../src/oidc/artifact-key.ts';
import { createArtifactRepository, type ArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const CLIENT_METADATA: Record<string, Record<string, unknown>> = {
  'client-1': {
    client_id: 'client-1',
    client_name: 'First client',
    redirect_uris: ['https://app.example/callback'],
    token_endpoint_auth_method: 'none',
  },
};

let database: TestDatabase;
let artifacts: ArtifactRepository;
let clockMs = Date.UTC(2030, 0, 1);
const clientLookups: string[] = [];

const clients = {
  async findProviderMetadata(clientId: string) {
    clientLookups.push(clientId);
    return CLIENT_METADATA[clientId];
  },
};

const unique = (prefix: string) => `${prefix}-${randomUUID()}`;
let adapterFor: (name: string) => Adapter;

beforeAll(async () => {
  database = await createTestDatabase();
  artifacts = createArtifactRepository(database.db);
  adapterFor = createAdapterFactory({ artifacts, clients, now: () => clockMs });
});

afterAll(async () => {
  await database?.drop();
});

describe('adapter, method by method', () => {
  it('returns the payload unchanged after upsert, for every kind of value JSON carries', async () => {
    const payload: AdapterPayload = {
      jti: unique('jti'),
      kind: 'AccessToken',
      accountId: 'account-é-🙂',
      clientId: 'client-1',
      grantId: unique('grant'),
      iat: 1_900_000_000,
      exp: 1_900_000_900,
      scope: 'openid profile',
      claims: { id_token: { email: { essential: true } } },
      extra: { nested: [1, 'two', null, { three: false }], quote: `"'\\` },
      aud: ['https://api.one.example', 'https://api.two.example'],
    };
    const adapter = adapterFor('AccessToken');
    await adapter.upsert(payload.jti!, payload, 900);
    expect(await adapter.find(payload.jti!)).toEqual(payload);
  });

  it('overwrites on a second upsert, columns included', async () => {
    const adapter = adapterFor('Session');
    const id = unique('session');
    await adapter.upsert(id, { jti: id, uid: 'uid-before', accountId: 'a' }, 60);
    const uidAfter = unique('uid');
    await adapter.upsert(id, { jti: id, uid: uidAfter, accountId: 'b' }, 60);

    expect(await adapter.find(id)).toEqual({ jti: id, uid: uidAfter, accountId: 'b' });
    expect(await adapter.findByUid('uid-before')).toBeUndefined();
    // Found by uid, a session comes back without its id: only the cookie holds that.
    expect(await adapter.findByUid(uidAfter)).toEqual({ uid: uidAfter, accountId: 'b' });
  });

  it('stores no id, user code or sealed field in clear: rows are keyed by the digest, payloads lack the id', async () => {
    const id = unique('interaction');
    const sessionCookie = unique('session-cookie');
    const parJti = unique('par');
    await adapterFor('Interaction').upsert(id, { jti: id, session: { accountId: 'a', uid: 'session-uid', cookie: sessionCookie }, parJti, returnTo: 'https://x.example/' }, 60);
    const deviceCodeId = unique('device');
    const userCode = `UC${randomUUID().slice(0, 8).toUpperCase()}`;
    await adapterFor('DeviceCode').upsert(deviceCodeId, { jti: deviceCodeId, userCode }, 60);

    const rows = await database.db.prisma.oidcArtifact.findMany({ where: { id: { in: [artifactKey(id), artifactKey(deviceCodeId)] } } });
    expect(rows.map((row) => [row.model, row.userCode]).sort()).toEqual([['DeviceCode', artifactKey(userCode)], ['Interaction', null]]);
    const stored = JSON.stringify(rows);
    for (const value of [id, sessionCookie, parJti, deviceCodeId, userCode]) expect(stored).not.toContain(value);
    expect(stored).toContain('session-uid');

    expect(await adapterFor('Interaction').find(id)).toEqual({ jti: id, session: { accountId: 'a', uid: 'session-uid', cookie: sessionCookie }, parJti, returnTo: 'https://x.example/' });
    expect(await adapterFor('DeviceCode').find(deviceCodeId)).toEqual({ jti: deviceCodeId, userCode });
    // Found by its user code, a device code comes back with its id (sealed for that user code): oidc-provider saves the approval under it.
    expect(await adapterFor('DeviceCode').findByUserCode(userCode)).toEqual({ jti: deviceCodeId, userCode });
    // A sealed field copied into another row of the same model does not open there.
    const other = unique('interaction');
    await adapterFor('Interaction').upsert(other, { jti: other }, 60);
    const sealedPayload = rows.find((row) => row.model === 'Interaction')!.payload;
    await database.db.prisma.oidcArtifact.update({ where: { model_id: { model: 'Interaction', id: artifactKey(other) } }, data: { payload: sealedPayload } });
    expect(await adapterFor('Interaction').find(other)).toEqual({ jti: other, session: { accountId: 'a', uid: 'session-uid' }, returnTo: 'https://x.example/' });
  });

  it.each(['AuthorizationCode', 'RefreshToken'])('consumes a %s once: a second consume throws ArtifactConsumedError with the row, as does one of a row gone', async (model) => {
    const adapter = adapterFor(model);
    const id = unique(model);
    const grantId = unique('grant');
    await adapter.upsert(id, { jti: id, grantId, clientId: 'client-1' }, 60);
    await expect(adapter.consume(id)).resolves.toBeUndefined();
    const second = await adapter.consume(id).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(ArtifactConsumedError);
    expect((second as ArtifactConsumedError).row).toEqual({ consumedAt: new Date(clockMs), grantId });

    const gone = await adapter.consume(unique(model)).catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(ArtifactConsumedError);
    expect((gone as ArtifactConsumedError).row).toBeUndefined();
  });

  it('answers a consumed pushed authorization request as oidc-provider does: invalid_request_uri', async () => {
    const adapter = adapterFor('PushedAuthorizationRequest');
    const id = unique('par');
    await adapter.upsert(id, { jti: id }, 60);
    await adapter.consume(id);
    await expect(adapter.consume(id)).rejects.toMatchObject({ error: 'invalid_request_uri', status: 400 });
  });

  it('finds a session by uid and a device code by user code, within their own model only', async () => {
    const sessions = adapterFor('Session');
    const deviceCodes = adapterFor('DeviceCode');
    const sessionId = unique('session');
    const uid = unique('uid');
    const userCode = `UC${randomUUID().slice(0, 8).toUpperCase()}`;
    const deviceCodeId = unique('device');
    await sessions.upsert(sessionId, { jti: sessionId, uid }, 60);
    await deviceCodes.upsert(deviceCodeId, { jti: deviceCodeId, userCode, grantId: unique('grant') }, 60);

    expect(await sessions.findByUid(uid)).toEqual({ uid });
    expect(await deviceCodes.findByUserCode(userCode)).toMatchObject({ userCode, grantId: expect.any(String) });
    expect(await deviceCodes.findByUid(uid)).toBeUndefined();
    expect(await sessions.findByUserCode(userCode)).toBeUndefined();
  });

  it('marks a consumed artifact with `consumed` (epoch seconds) and keeps it findable', async () => {
    const adapter = adapterFor('AuthorizationCode');
    const id = unique('code');
    await adapter.upsert(id, { jti: id, grantId: unique('grant') }, 60);
    expect(await adapter.find(id)).not.toHaveProperty('consumed');

    await adapter.consume(id);
    expect(await adapter.find(id)).toEqual({ jti: id, grantId: expect.any(String), consumed: Math.floor(clockMs / 1000) });

    // A later save of the same code (without `consumed`) must not un-consume it.
    await adapter.upsert(id, { jti: id, grantId: 'other' }, 60);
    expect(await adapter.find(id)).toHaveProperty('consumed', Math.floor(clockMs / 1000));
  });

  it('destroys only the artifact named', async () => {
    const adapter = adapterFor('Interaction');
    const [kept, gone] = [unique('interaction'), unique('interaction')];
    await adapter.upsert(kept, { jti: kept }, 60);
    await adapter.upsert(gone, { jti: gone }, 60);

    await adapter.destroy(gone);
    expect(await adapter.find(gone)).toBeUndefined();
    expect(await adapter.find(kept)).toEqual({ jti: kept });
    await expect(adapter.destroy(gone)).resolves.toBeUndefined();
  });

  it('revokes every artifact of a grant, whatever its model, and nothing of another grant', async () => {
    const grantId = unique('grant');
    const otherGrantId = unique('grant');
    const models = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'];
    const ids = new Map(models.map((model) => [model, { revoked: unique(model), kept: unique(model) }]));
    for (const [model, { revoked, kept }] of ids) {
      await adapterFor(model).upsert(revoked, { jti: revoked, grantId }, 60);
      await adapterFor(model).upsert(kept, { jti: kept, grantId: otherGrantId }, 60);
    }

    // oidc-provider calls this once per token model; one call must reach them all.
    await adapterFor('AccessToken').revokeByGrantId(grantId);

    for (const [model, { revoked, kept }] of ids) {
      expect(await adapterFor(model).find(revoked), `${model} of the revoked grant`).toBeUndefined();
      expect(await adapterFor(model).find(kept), `${model} of another grant`).toMatchObject({ grantId: otherGrantId });
    }
  });

  it('does not find an artifact once its expiry has passed, and never expires one saved without expiry', async () => {
    const adapter = adapterFor('Interaction');
    const expiring = unique('interaction');
    const lasting = unique('interaction');
    const start = clockMs;
    await adapter.upsert(expiring, { jti: expiring, uid: unique('uid') }, 10);
    await adapter.upsert(lasting, { jti: lasting }, undefined);

    try {
      clockMs = start + 9_999;
      expect(await adapter.find(expiring)).toEqual({ jti: expiring, uid: expect.any(String) });
      clockMs = start + 10_000;
      expect(await adapter.find(expiring)).toBeUndefined();
      expect(await adapter.findByUid((await artifacts.find('Interaction', artifactKey(expiring)))!.uid!)).toBeUndefined();
      clockMs = start + 100 * 365 * 24 * 3600 * 1000;
      expect(await adapter.find(lasting)).toEqual({ jti: lasting });
    } finally {
      clockMs = start;
    }
  });

  it('finds a ReplayDetection id by claiming it: the first find gets nothing, every later one (and any at the same time) finds it, until it expires', async () => {
    const adapter = adapterFor('ReplayDetection');
    const jti = unique('replay');
    const start = clockMs;
    try {
      const finds = await Promise.all(Array.from({ length: 10 }, () => adapter.find(jti)));
      expect(finds.filter((found) => found === undefined)).toHaveLength(1);
      expect(finds.filter((found) => found !== undefined)).toHaveLength(9);
      // oidc-provider saves it next, with the proof's own expiry.
      await adapter.upsert(jti, { iss: 'client-1', iat: 1, exp: 2 }, 300);
      expect(await adapter.find(jti)).toBeDefined();
      clockMs = start + 300_000;
      expect(await adapter.find(jti)).toBeUndefined();
      expect(await adapter.find(jti)).toBeDefined();
    } finally {
      clockMs = start;
    }
  });

  it('keeps the same id under two model names apart', async () => {
    const id = unique('shared');
    await adapterFor('AccessToken').upsert(id, { jti: id, kind: 'AccessToken' }, 60);
    await adapterFor('RefreshToken').upsert(id, { jti: id, kind: 'RefreshToken' }, 60);
    await adapterFor('RefreshToken').consume(id);

    expect(await adapterFor('AccessToken').find(id)).toEqual({ jti: id, kind: 'AccessToken' });
    expect(await adapterFor('RefreshToken').find(id)).toMatchObject({ jti: id, kind: 'RefreshToken', consumed: expect.any(Number) });
    await adapterFor('AccessToken').destroy(id);
    expect(await adapterFor('RefreshToken').find(id)).toMatchObject({ kind: 'RefreshToken' });
  });

  it('reads clients from the client registry', async () => {
    const adapter = adapterFor('Client');
    expect(await adapter.find('client-1')).toEqual(CLIENT_METADATA['client-1']);
    expect(await adapter.find('no-such-client')).toBeUndefined();
    expect(clientLookups).toEqual(expect.arrayContaining(['client-1', 'no-such-client']));
  });

  const clientWrites: [string, (adapter: Adapter) => Promise<unknown>][] = [
    ['upsert', (adapter) => adapter.upsert('client-1', { client_id: 'client-1' }, undefined)],
    ['destroy', (adapter) => adapter.destroy('client-1')],
    ['consume', (adapter) => adapter.consume('client-1')],
    ['revokeByGrantId', (adapter) => adapter.revokeByGrantId('grant')],
  ];
  for (const [operation, write] of clientWrites) {
    it(`refuses Client.${operation}: clients are written only through the registry`, async () => {
      await expect(write(adapterFor('Client'))).rejects.toThrow(`Client.${operation} is not supported`);
    });
  }

  const garbageKeys: [string, unknown][] = [
    ['a number', 12345],
    ['null', null],
    ['undefined', undefined],
    ['an object', { id: 'x' }],
    ['an array', ['x']],
    ['an empty string', ''],
    ['a string one over the limit', 'x'.repeat(MAX_KEY_LENGTH + 1)],
    ['a megabyte string', 'x'.repeat(1024 * 1024)],
    ['a string with NUL', 'abc\0def'],
    ['a lone surrogate', 'abc\uD800def'],
    ['SQL syntax', `' OR '1'='1' --`],
    ['a string at the limit that matches nothing', 'y'.repeat(MAX_KEY_LENGTH)],
  ];
  for (const [description, key] of garbageKeys) {
    it(`finds nothing and throws nothing for ${description}`, async () => {
      const adapter = adapterFor('Session');
      const asKey = key as string;
      expect(await adapter.find(asKey)).toBeUndefined();
      expect(await adapter.findByUid(asKey)).toBeUndefined();
      expect(await adapter.findByUserCode(asKey)).toBeUndefined();
      await expect(adapter.consume(asKey)).resolves.toBeUndefined();
      await expect(adapter.destroy(asKey)).resolves.toBeUndefined();
      await expect(adapter.revokeByGrantId(asKey)).resolves.toBeUndefined();

      const before = clientLookups.length;
      const found = await adapterFor('Client').find(asKey);
      expect(found).toBeUndefined();
      if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH || key.includes('\0') || key === '') {
        expect(clientLookups.length, 'invalid ids never reach the registry').toBe(before);
      }
    });
  }

  const unstorable: [string, string, AdapterPayload][] = [
    ['an empty id', '', {}],
    ['an oversized id', 'x'.repeat(MAX_KEY_LENGTH + 1), {}],
    ['an oversized grantId', 'ok', { grantId: 'g'.repeat(MAX_KEY_LENGTH + 1) }],
    ['a grantId that is not a string', 'ok', { grantId: 42 as unknown as string }],
    ['a uid with NUL', 'ok', { uid: 'a\0b' }],
    ['an empty userCode', 'ok', { userCode: '' }],
  ];
  for (const [description, id, payload] of unstorable) {
    it(`refuses to store an artifact with ${description} instead of writing it unindexed`, async () => {
      await expect(adapterFor('DeviceCode').upsert(id, payload, 60)).rejects.toThrow(/must be a non-empty string of at most 1024 characters/);
      expect(await artifacts.find('DeviceCode', id.slice(0, MAX_KEY_LENGTH))).toBeNull();
    });
  }
});

describe('artifact writes while a transaction holds the database', () => {
  // On SQLite the artifact statements run on a connection of their own that
  // never waits for a lock (db/sqlite-statements.ts): while one of Prisma's
  // transactions holds the write lock (a key rotation), they must fall back
  // to Prisma's connection instead of failing or blocking the event loop.
  it('writes, consumes and destroys an artifact inside a Prisma transaction, and reads stay answered', async () => {
    const id = unique('locked');
    const timeline = await database.db.prisma.$transaction(async (tx) => {
      // A write first: from here the transaction holds SQLite's write lock.
      await tx.registryChange.upsert({ where: { name: 'adapter-test' }, create: { name: 'adapter-test', version: 1 }, update: { version: { increment: 1 } } });
      await artifacts.upsert('AccessToken', id, { payload: JSON.stringify({ jti: id }), expiresAt: new Date(clockMs + 60_000) });
      const consumed = await artifacts.consume('AccessToken', id, new Date(clockMs));
      const found = await artifacts.find('AccessToken', id);
      return { consumed, found };
    });
    expect(timeline.consumed).toBe(true);
    expect(timeline.found?.consumedAt).toEqual(new Date(clockMs));
    const after = await artifacts.find('AccessToken', id);
    expect(after).toMatchObject({ model: 'AccessToken', id, payload: JSON.stringify({ jti: id }), expiresAt: new Date(clockMs + 60_000), consumedAt: new Date(clockMs) });
    await database.db.prisma.$transaction(async (tx) => {
      await tx.registryChange.update({ where: { name: 'adapter-test' }, data: { version: { increment: 1 } } });
      await artifacts.destroy('AccessToken', id);
    });
    expect(await artifacts.find('AccessToken', id)).toBeNull();
  });
});

describe('adapter under a real oidc-provider', () => {
  let provider: Provider;

  beforeAll(() => {
    provider = new Provider('http://localhost:3000', {
      adapter: createAdapterFactory({ artifacts, clients }),
    });
  });

  it('saves and finds a Session, by id and by uid', async () => {
    const session = new provider.Session();
    session.loginAccount({ accountId: 'account-1' });
    await session.save(3600);

    const byId = await provider.Session.find(session.jti);
    expect(byId).toMatchObject({ jti: session.jti, uid: session.uid, accountId: 'account-1' });
    // By uid, a session is found but its id (the cookie value) is not known: oidc-provider only reads such a session.
    const byUid = await provider.Session.findByUid(session.uid);
    expect(byUid).toMatchObject({ uid: session.uid, accountId: 'account-1' });
    expect(byUid?.jti).not.toBe(session.jti);
  });

  it('saves a Grant, issues and consumes a code under it, then revokes the grant', async () => {
    const grant = new provider.Grant({ accountId: 'account-1', clientId: 'client-1' });
    grant.addOIDCScope('openid profile');
    const grantId = await grant.save();

    const foundGrant = await provider.Grant.find(grantId);
    expect(foundGrant).toMatchObject({ accountId: 'account-1', clientId: 'client-1' });
    expect(foundGrant?.getOIDCScope()).toBe('openid profile');

    const client = await provider.Client.find('client-1');
    expect(client?.clientId).toBe('client-1');
    expect(await provider.Client.find('no-such-client')).toBeUndefined();

    const code = new provider.AuthorizationCode({
      client: client!,
      accountId: 'account-1',
      grantId,
      gty: 'authorization_code',
      scope: 'openid',
      redirectUri: 'https://app.example/callback',
    });
    const codeValue = await code.save();
    const found = await provider.AuthorizationCode.find(codeValue);
    expect(found).toMatchObject({ grantId, accountId: 'account-1' });
    expect(found?.isValid).toBe(true);

    await found!.consume();
    const consumed = await provider.AuthorizationCode.find(codeValue);
    // `consumed` is in the code's payload at runtime but not in its published type.
    expect((consumed as { consumed?: unknown } | undefined)?.consumed).toEqual(expect.any(Number));
    expect(consumed?.isValid).toBe(false);

    await provider.AuthorizationCode.revokeByGrantId(grantId);
    expect(await provider.AuthorizationCode.find(codeValue)).toBeUndefined();
  });
});
