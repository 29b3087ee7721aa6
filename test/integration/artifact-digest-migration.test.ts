// Upgrading a database whose artifacts were written in the earlier clear
// format (keyed by oidc-provider's id, the id in the payload): after the
// artifact-digest migration every session, refresh token and code in flight
// is still found by the value its holder presents, so nobody is signed out,
// and no id is left in clear. On the dialect under test.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrator.ts';
import { createAdapterFactory } from '../../src/oidc/adapter.ts';
import { createArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';

const DIGEST_MIGRATION = '20261203090000_artifact_digests';
const NOW = Date.now();
const later = new Date(NOW + 3600_000);

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  await migrate(database.config, loadMigrations(testDialect()).filter((migration) => migration.name < DIGEST_MIGRATION));
});

afterAll(async () => {
  await database?.drop();
});

/** A row as the adapter before the digest migration wrote it: the clear id as key, the payload as oidc-provider gave it. */
async function writeOldRow(model: string, id: string, payload: Record<string, unknown>, columns: { grantId?: string; uid?: string; userCode?: string } = {}) {
  const values = [model, id, JSON.stringify({ jti: id, ...payload }), columns.grantId ?? null, columns.uid ?? null, columns.userCode ?? null, later];
  const placeholders = testDialect() === 'postgres' ? '$1, $2, $3, $4, $5, $6, $7' : '?, ?, ?, ?, ?, ?, ?';
  await database.db.prisma.$executeRawUnsafe(`INSERT INTO "OidcArtifact" ("model", "id", "payload", "grantId", "uid", "userCode", "expiresAt") VALUES (${placeholders})`, ...values);
}

it('re-keys artifacts written before it, so each is found by its bearer value, and leaves no id in clear', async () => {
  const session = 'old-session-id-0123456789';
  const refreshToken = 'old-refresh-token-0123456789abcdefghijklmnop';
  const code = 'old-code-0123456789abcdefghijklmnopqrstuvwxyz';
  const interaction = 'old-interaction-0123456789';
  const parInteraction = 'old-par-interaction-0123456789';
  const deviceCode = 'old-device-code-0123456789abcdefghijklmnopq';
  const revokedJti = 'revoked-jwt-jti-0123456789';
  await writeOldRow('Session', session, { uid: 'session-uid-1', accountId: 'acc-1', exp: Math.floor(later.getTime() / 1000) }, { uid: 'session-uid-1' });
  await writeOldRow('RefreshToken', refreshToken, { grantId: 'grant-1', clientId: 'client-1', accountId: 'acc-1' }, { grantId: 'grant-1' });
  await writeOldRow('AuthorizationCode', code, { grantId: 'grant-1', clientId: 'client-1' }, { grantId: 'grant-1' });
  await database.db.prisma.$executeRawUnsafe(`UPDATE "OidcArtifact" SET "consumedAt" = "expiresAt" WHERE "id" = ${testDialect() === 'postgres' ? '$1' : '?'}`, code);
  await writeOldRow('Interaction', interaction, { session: { accountId: 'acc-1', uid: 'session-uid-1', cookie: session }, returnTo: 'https://issuer.example/auth/x' });
  await writeOldRow('Interaction', parInteraction, { parJti: 'old-par-request-uri-0123456789' });
  await writeOldRow('DeviceCode', deviceCode, { userCode: 'WDJB-MJHT', grantId: 'grant-2' }, { userCode: 'WDJB-MJHT', grantId: 'grant-2' });
  await writeOldRow('RevokedAccessToken', revokedJti, {});
  // A NUL escape in a kept request parameter: PostgreSQL's jsonb refuses it, so there the row is dropped rather than stop the upgrade.
  const nulInteraction = 'old-nul-interaction-0123456789';
  await writeOldRow('Interaction', nulInteraction, { params: { state: 'a\u0000b' } });

  // This migration and every later one (the artifacts' accountId column, backfilled from the re-keyed rows).
  const { applied } = await migrate(database.config);
  expect(applied[0]).toBe(DIGEST_MIGRATION);
  const following = loadMigrations(testDialect()).filter((migration) => migration.name > DIGEST_MIGRATION).map((migration) => migration.name);
  expect(applied).toEqual([DIGEST_MIGRATION, ...following]);
  // The re-keyed rows name their account in its own column, so a password change ends them too.
  const byAccount = await database.db.prisma.oidcArtifact.findMany({ where: { accountId: 'acc-1' }, select: { model: true } });
  expect(byAccount.map((row) => row.model).sort()).toEqual(['RefreshToken', 'Session']);

  const artifacts = createArtifactRepository(database.db);
  const adapterFor = createAdapterFactory({ artifacts, clients: { findProviderMetadata: async () => undefined } });
  expect(await adapterFor('Session').find(session)).toEqual({ jti: session, uid: 'session-uid-1', accountId: 'acc-1', exp: Math.floor(later.getTime() / 1000) });
  expect(await adapterFor('Session').findByUid('session-uid-1')).toMatchObject({ accountId: 'acc-1' });
  expect(await adapterFor('RefreshToken').find(refreshToken)).toEqual({ jti: refreshToken, grantId: 'grant-1', clientId: 'client-1', accountId: 'acc-1' });
  expect(await adapterFor('AuthorizationCode').find(code)).toMatchObject({ jti: code, consumed: Math.floor(later.getTime() / 1000) });
  // The session's cookie value is no longer kept in the interaction; nothing reads it.
  expect(await adapterFor('Interaction').find(interaction)).toEqual({ jti: interaction, session: { accountId: 'acc-1', uid: 'session-uid-1' }, returnTo: 'https://issuer.example/auth/x' });
  // A sign-in started from a pushed request starts again.
  expect(await adapterFor('Interaction').find(parInteraction)).toBeUndefined();
  expect(await adapterFor('DeviceCode').findByUserCode('WDJB-MJHT')).toMatchObject({ userCode: 'WDJB-MJHT', grantId: 'grant-2' });
  expect(await adapterFor('Interaction').find(nulInteraction)).toEqual(testDialect() === 'postgres' ? undefined : { jti: nulInteraction, params: { state: 'a\u0000b' } });
  // A revoked JWT's jti is not a credential, and is looked up as it is.
  expect(await artifacts.find('RevokedAccessToken', revokedJti)).not.toBeNull();

  // The upgraded refresh token still rotates once, and only once.
  await expect(adapterFor('RefreshToken').consume(refreshToken)).resolves.toBeUndefined();
  await expect(adapterFor('RefreshToken').consume(refreshToken)).rejects.toMatchObject({ code: 'artifact_consumed' });

  const stored = JSON.stringify(await database.db.prisma.oidcArtifact.findMany({ where: { model: { not: 'RevokedAccessToken' } } }));
  for (const value of [session, refreshToken, code, interaction, deviceCode, 'WDJB-MJHT']) expect(stored).not.toContain(value);
});
