// The artifact repository's lookups by id: started together (as an
// introspection's three, one per token model), they are one statement, and
// each still gets exactly its own row, or null when that row is missing or,
// for a live lookup, expired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactRepository, type ArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';
import { countStatements } from '../helpers/statement-counter.ts';

const NOW = new Date('2031-05-01T12:00:00.000Z');
let database: TestDatabase;
let artifacts: ArtifactRepository;

beforeAll(async () => {
  database = await createTestDatabase();
  artifacts = createArtifactRepository(database.db);
  await artifacts.upsert('AccessToken', 'same', { payload: '{"kind":"AccessToken"}', expiresAt: new Date(NOW.getTime() + 60_000) });
  await artifacts.upsert('RefreshToken', 'same', { payload: '{"kind":"RefreshToken"}', expiresAt: new Date(NOW.getTime() - 1) });
  await artifacts.upsert('Grant', 'other', { payload: '{"kind":"Grant"}' });
});

afterAll(async () => {
  await database?.drop();
});

describe(`artifact lookups by id (${testDialect()})`, () => {
  it('answers lookups started together with one statement, each with its own row', async () => {
    const selects = countStatements(/^SELECT \* FROM "OidcArtifact"/);
    try {
      const [access, credentials, refresh, refreshAnyway, grant] = await Promise.all([
        artifacts.find('AccessToken', 'same', { liveAt: NOW }),
        artifacts.find('ClientCredentials', 'same', { liveAt: NOW }),
        artifacts.find('RefreshToken', 'same', { liveAt: NOW }),
        artifacts.find('RefreshToken', 'same'),
        artifacts.find('Grant', 'other', { liveAt: NOW }),
      ]);
      expect(selects.count).toBe(1);
      expect(access).toMatchObject({ model: 'AccessToken', id: 'same', payload: '{"kind":"AccessToken"}' });
      expect(credentials).toBeNull();
      // Expired a millisecond ago: not live, but still there for a lookup that does not ask.
      expect(refresh).toBeNull();
      expect(refreshAnyway).toMatchObject({ model: 'RefreshToken', id: 'same' });
      expect(grant).toMatchObject({ model: 'Grant', id: 'other', expiresAt: null });
    } finally {
      selects.stop();
    }
  });

  it('counts a row as live up to, not at, its expiry', async () => {
    const expiresAt = new Date(NOW.getTime() + 60_000);
    expect(await artifacts.find('AccessToken', 'same', { liveAt: new Date(expiresAt.getTime() - 1) })).not.toBeNull();
    expect(await artifacts.find('AccessToken', 'same', { liveAt: expiresAt })).toBeNull();
  });

  it('runs a lookup made after an await as a statement of its own', async () => {
    const selects = countStatements(/^SELECT \* FROM "OidcArtifact"/);
    try {
      expect(await artifacts.find('Grant', 'other')).not.toBeNull();
      expect(await artifacts.find('Grant', 'missing')).toBeNull();
      expect(selects.count).toBe(2);
    } finally {
      selects.stop();
    }
  });
});
