// The checked adapter (test/helpers/checked-adapter.ts) every test server
// stores through: each broken invariant is refused with its own message and
// recorded, over the real adapter and a real database, and a correct life of
// an artifact (written, found, consumed, destroyed) records nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdapterPayload } from 'oidc-provider';
import { loadConfig } from '../../src/config/config.ts';
import { createAdapterFactory } from '../../src/oidc/adapter.ts';
import { createArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { AdapterInvariantError, createAdapterChecks } from '../helpers/checked-adapter.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const TTL = loadConfig({ NODE_ENV: 'test' }).ttl;

let database: TestDatabase;
let serial = 0;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

function checkedFactory() {
  const checks = createAdapterChecks(TTL);
  const factory = checks.wrap(createAdapterFactory({ artifacts: createArtifactRepository(database.db), clients: { findProviderMetadata: async () => undefined } }));
  return { checks, factory };
}

/** A payload as oidc-provider writes it: its kind, iat now, exp `lifetime` seconds on. */
function payload(kind: string, lifetime: number, extra: Partial<AdapterPayload> = {}): AdapterPayload {
  const iat = Math.floor(Date.now() / 1000);
  return { kind, iat, exp: iat + lifetime, ...extra };
}

const id = (label: string) => `${label}-${process.pid}-${++serial}`;

describe('the checked adapter', () => {
  it('lets a correct life of an artifact through and records nothing', async () => {
    const { checks, factory } = checkedFactory();
    const codes = factory('AuthorizationCode');
    const code = id('code');
    await codes.upsert(code, payload('AuthorizationCode', TTL.authorizationCode, { grantId: id('grant') }), TTL.authorizationCode);
    expect(await codes.find(code)).toMatchObject({ kind: 'AuthorizationCode' });
    await codes.consume(code);
    await codes.destroy(code);
    const sessions = factory('Session');
    const session = id('session');
    await sessions.upsert(session, payload('Session', TTL.session), TTL.session);
    // Saved again later: a session's expiry restarts, its iat stays.
    await sessions.upsert(session, { ...payload('Session', TTL.session), iat: Math.floor(Date.now() / 1000) - 30 }, TTL.session);
    expect(checks.violations).toEqual([]);
  });

  it.each([
    {
      label: 'a payload of another model',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => factory('AccessToken').upsert(id('at'), payload('RefreshToken', 60), 60),
      message: 'AccessToken: upsert of a RefreshToken payload',
    },
    {
      label: 'no expiry',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => factory('AccessToken').upsert(id('at'), { kind: 'AccessToken' }, undefined as unknown as number),
      message: 'AccessToken: upsert with expiresIn undefined',
    },
    {
      label: 'an expiry that disagrees with the payload',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => factory('AccessToken').upsert(id('at'), payload('AccessToken', 900), 300),
      message: "AccessToken: expiresIn 300 s, but the payload's exp is 900 s away",
    },
    {
      label: 'a code living longer than its TTL',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) =>
        factory('AuthorizationCode').upsert(id('code'), payload('AuthorizationCode', TTL.authorizationCode * 2), TTL.authorizationCode * 2),
      message: `AuthorizationCode: expiresIn ${TTL.authorizationCode * 2} s, past the configured TTL of ${TTL.authorizationCode} s`,
    },
    {
      label: 'a grant first written to live less than its TTL',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => factory('Grant').upsert(id('grant'), payload('Grant', 100), 100),
      message: `Grant: first written to live 100 s (exp - iat), not the configured TTL of ${TTL.grant} s`,
    },
    {
      label: 'a session saved without restarting its expiry',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => factory('Session').upsert(id('session'), payload('Session', 100), 100),
      message: `Session: expiresIn 100 s, not the configured TTL of ${TTL.session} s`,
    },
    {
      label: 'a consume of an id never written',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => factory('AuthorizationCode').consume('never-written'),
      message: 'AuthorizationCode: consume of never-written, which was never written or found',
    },
    {
      label: 'a destroy of an id never written',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => factory('AccessToken').destroy('never-written'),
      message: 'AccessToken: destroy of never-written, which was never written or found',
    },
    {
      label: 'a write after the artifact was consumed',
      run: async (factory: ReturnType<typeof checkedFactory>['factory']) => {
        const codes = factory('AuthorizationCode');
        const code = 'consumed-code';
        await codes.upsert(code, payload('AuthorizationCode', TTL.authorizationCode), TTL.authorizationCode);
        await codes.consume(code);
        await codes.upsert(code, payload('AuthorizationCode', TTL.authorizationCode), TTL.authorizationCode);
      },
      message: 'AuthorizationCode: upsert of consumed-code after it was consumed',
    },
  ])('refuses and records $label', async ({ run, message }) => {
    const { checks, factory } = checkedFactory();
    const error = await run(factory).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AdapterInvariantError);
    expect((error as AdapterInvariantError).code).toBe('adapter_invariant');
    expect(checks.violations).toEqual([message]);
  });
});
