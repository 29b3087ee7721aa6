// The services behind the Admin API's users, keys and audit endpoints,
// against a real database (both dialects): pages that neither repeat nor
// skip a row when rows are inserted between them, an email prefix matched
// literally (% and _ included), edits as a compare-and-swap, invitations
// only where mail can be sent, sessions and grants ended, second factors
// reset, the CLI's key rules, and an hourly summary from one grouped query.
// Every change is an audit event by the actor named.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserAdministration, type UserAdministration } from '../../src/accounts/user-administration.ts';
import { createAuditRepository } from '../../src/audit/audit-repository.ts';
import { createAuditService } from '../../src/audit/audit-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createKeys } from '../../src/keys/create-keys.ts';
import { createKeyAdministration } from '../../src/keys/key-administration.ts';
import { createSecondFactorSummary } from '../../src/mfa/second-factor-summary.ts';
import { createArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createServices, type Services } from '../../src/services.ts';
import type { MailRequest } from '../../src/mail/mail-service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testEnv } from '../helpers/test-env.ts';

const PASSWORD = 'correct horse battery staple';
const ACTOR = 'ops-client';

let database: TestDatabase;
let dataDir: string;
let services: Services;
let users: UserAdministration;
const mailed: MailRequest[] = [];

function administration(mail: boolean) {
  return createUserAdministration({
    accounts: services.accounts,
    artifacts: createArtifactRepository(database.db),
    secondFactors: createSecondFactorSummary(database.db),
    secondFactorReset: services.secondFactorReset,
    invitations: services.invitations,
    mail: mail ? { enqueue: async (request) => (mailed.push(request), 'mail-id') } : null,
    audit: services.audit,
  });
}

/** The error a promise rejects with; fails the test when it resolves. */
async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; field?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as { code?: string; field?: string },
  );
}

const eventsOf = async (subject: string) => (await services.audit.list({ limit: 100 })).filter((event) => event.subject === subject).map((event) => [event.type, event.actor]);

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-admin-'));
  const config = loadConfig(testEnv({ port: 1, databaseUrl: database.url, dataDir }));
  services = createServices({ config, db: database.db });
  users = administration(true);
});

afterAll(async () => {
  await services?.audit.stop();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('users', () => {
  it('pages in id order with no duplicate and no gap when accounts are inserted between pages', async () => {
    for (let i = 0; i < 5; i++) await services.accounts.create({ email: `page${i}@example.test`, password: PASSWORD });
    const existing = (await users.list({ emailPrefix: 'page', limit: 200 })).users.map((user) => user.id);
    expect(existing).toHaveLength(5);
    const seen: string[] = [];
    let after: string | undefined;
    for (let round = 0; ; round++) {
      const page = await users.list({ emailPrefix: 'PAGE', limit: 2, ...(after !== undefined && { afterId: after }) });
      seen.push(...page.users.map((user) => user.id));
      // Inserted mid-listing: a new id may land before or after the cursor; rows that existed are each seen once.
      if (round < 2) await services.accounts.create({ email: `page-new${round}@example.test`, password: PASSWORD });
      if (!page.nextAfterId) break;
      after = page.nextAfterId;
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
    expect([...seen].sort()).toEqual(seen);
  });

  it('matches the email prefix literally: % and _ are not wildcards', async () => {
    for (const email of ['a_b@like.test', 'axb@like.test', 'a%c@like.test', 'a\\d@like.test']) await services.accounts.create({ email, password: PASSWORD });
    const emails = async (emailPrefix: string) => (await users.list({ emailPrefix, limit: 50 })).users.map((user) => user.email).sort();
    expect(await emails('a_')).toEqual(['a_b@like.test']);
    expect(await emails('a%')).toEqual(['a%c@like.test']);
    expect(await emails('a\\')).toEqual(['a\\d@like.test']);
    expect(await emails('ax')).toEqual(['axb@like.test']);
  });

  it('edits only from the current version, refuses a taken email, and records who did it', async () => {
    const { user } = await users.create({ email: 'edit@example.test', name: 'Edit Me', password: PASSWORD }, { actor: ACTOR });
    await services.accounts.create({ email: 'taken@example.test', password: PASSWORD });
    expect(user).toMatchObject({ email: 'edit@example.test', name: 'Edit Me', disabled: false, mfa: { totp: false, passkeys: 0, recoveryCodesLeft: 0 } });
    expect(JSON.stringify(user)).not.toMatch(/password/i);

    const edited = await users.edit(user.id, { name: 'Edited', email: 'Moved@Example.test', disabled: true, role: 'viewer' }, { version: String(user.updatedAt.getTime()), actor: ACTOR });
    expect(edited).toMatchObject({ name: 'Edited', email: 'moved@example.test', emailVerified: false, disabled: true, role: 'viewer' });
    expect(edited.updatedAt.getTime()).toBeGreaterThan(user.updatedAt.getTime());

    expect(await errorOf(users.edit(user.id, { name: 'Late' }, { version: String(user.updatedAt.getTime()), actor: ACTOR }))).toMatchObject({ code: 'precondition_failed' });
    expect(await errorOf(users.edit(user.id, { email: 'taken@example.test' }, { actor: ACTOR }))).toMatchObject({ code: 'already_exists' });
    expect(await errorOf(users.edit(user.id, { name: 'Late' }, { version: 'W/"1"', actor: ACTOR }))).toMatchObject({ code: 'precondition_failed' });
    expect(await errorOf(users.edit(user.id, { name: 'bad\u0000name' }, { actor: ACTOR }))).toMatchObject({ code: 'invalid_input', field: 'name' });
    expect(await errorOf(users.edit(user.id, { role: 'owner' }, { actor: ACTOR }))).toMatchObject({ code: 'invalid_input', field: 'role' });
    expect(await errorOf(users.edit(user.id, { email: 'not an email' }, { actor: ACTOR }))).toMatchObject({ code: 'invalid_input', field: 'email' });
    expect(await errorOf(users.edit('00000000-0000-4000-8000-000000000000', { name: 'x' }, { actor: ACTOR }))).toMatchObject({ code: 'not_found' });
    const cleared = await users.edit(user.id, { name: null, disabled: false }, { actor: ACTOR });
    expect(cleared).toMatchObject({ name: null, disabled: false });

    expect(await eventsOf(user.id)).toEqual(
      expect.arrayContaining([
        ['user.created', ACTOR],
        ['user.updated', ACTOR],
        ['user.disabled', ACTOR],
        ['user.enabled', ACTOR],
        ['user.role_changed', ACTOR],
      ]),
    );
  });

  it('races: of parallel edits from one version exactly one wins; unconditional ones all land', async () => {
    const { user } = await users.create({ email: 'race@example.test', password: PASSWORD }, { actor: ACTOR });
    const version = String(user.updatedAt.getTime());
    const conditional = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => users.edit(user.id, { name: `c${i}` }, { version, actor: ACTOR })));
    expect(conditional.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of conditional) if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'precondition_failed' });
    const unconditional = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => users.edit(user.id, { name: `u${i}` }, { actor: ACTOR })));
    expect(unconditional.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
  });

  it('invites when there is no password and mail can be sent; without mail a password is required', async () => {
    const { user, invited } = await users.create({ email: 'invitee@example.test' }, { actor: ACTOR });
    expect(invited).toBe(true);
    expect(mailed.find((mail) => mail.to === 'invitee@example.test')).toMatchObject({ template: 'invite' });
    expect(await eventsOf(user.id)).toEqual([['account.invited', ACTOR]]);

    const noMail = administration(false);
    expect(await errorOf(noMail.create({ email: 'nomail@example.test' }, { actor: ACTOR }))).toMatchObject({ code: 'invalid_input', field: 'password' });
    expect(await services.accounts.findByEmail('nomail@example.test')).toBeUndefined();
    expect(await errorOf(users.create({ email: 'weak@example.test', password: 'password' }, { actor: ACTOR }))).toMatchObject({ code: 'invalid_input', field: 'password' });
  });

  it("ends the account's sessions and grants (and no one else's), lists grants without secrets, resets second factors", async () => {
    const ada = await services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
    const bob = await services.accounts.create({ email: 'bob@example.test', password: PASSWORD });
    const artifacts = createArtifactRepository(database.db);
    const expiresAt = new Date(Date.now() + 3_600_000);
    for (const account of [ada, bob]) {
      await artifacts.upsert('Session', `session-${account.id}`, { payload: JSON.stringify({ accountId: account.id, loginTs: 1 }), accountId: account.id, uid: `uid-${account.id}`, expiresAt });
      await artifacts.upsert('Grant', `grant-${account.id}`, {
        payload: JSON.stringify({ accountId: account.id, clientId: 'web-app', openid: { scope: 'openid email' }, resources: { 'https://api.example.test': 'orders:read' } }),
        accountId: account.id,
        expiresAt,
      });
    }
    expect(await users.grants(ada.id)).toEqual([{ key: `grant-${ada.id}`, clientId: 'web-app', scopes: ['openid', 'email'], resources: { 'https://api.example.test': ['orders:read'] }, expiresAt }]);

    expect(await users.revokeSessions(ada.id, { actor: ACTOR })).toBe(2);
    expect(await database.db.prisma.oidcArtifact.count({ where: { accountId: ada.id } })).toBe(0);
    expect(await database.db.prisma.oidcArtifact.count({ where: { accountId: bob.id } })).toBe(2);
    expect(await users.grants(ada.id)).toEqual([]);

    const prisma = database.db.prisma;
    await prisma.totpFactor.create({ data: { accountId: ada.id, sealedSecret: 'v1.x.y.z', confirmedAt: new Date() } });
    await prisma.recoveryCode.createMany({ data: [1, 2, 3].map((n) => ({ id: `rc-${n}`, accountId: ada.id, codeHash: `h${n}` })) });
    await prisma.passkey.create({ data: { id: 'cred-1', accountId: ada.id, name: 'Phone', publicKey: 'pk', counter: 0 } });
    expect((await users.get(ada.id)).mfa).toEqual({ totp: true, passkeys: 1, recoveryCodesLeft: 3 });
    await users.resetMfa(ada.id, { actor: ACTOR });
    expect((await users.get(ada.id)).mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });

    await users.setPassword(ada.id, 'another long passphrase', { actor: ACTOR });
    expect(await services.accounts.authenticate('ada@example.test', 'another long passphrase')).toMatchObject({ id: ada.id });
    expect(await eventsOf(ada.id)).toEqual(
      expect.arrayContaining([
        ['user.sessions_revoked', ACTOR],
        ['mfa.reset', ACTOR],
        ['user.password_set', ACTOR],
      ]),
    );
    // Called one at a time: a rejection nobody awaits yet would be reported as unhandled.
    for (const call of [() => users.revokeSessions('nobody', { actor: ACTOR }), () => users.resetMfa('nobody', { actor: ACTOR }), () => users.grants('nobody'), () => users.get('nobody')]) {
      expect(await errorOf(call())).toMatchObject({ code: 'not_found' });
    }
  });
});

describe('keys', () => {
  it('rotates and retires with the CLI rules: key_in_use unless forced, and audits both', async () => {
    const config = loadConfig(testEnv({ port: 1, databaseUrl: database.url, dataDir }));
    const keys = createKeys(config, database.db);
    await keys.service.ensureKeys();
    const admin = createKeyAdministration({ rotation: keys.rotation, audit: services.audit });
    const signing = (await admin.list()).find((key) => key.alg === 'ES256' && key.signing)!;
    const rotated = await admin.rotate({ alg: 'ES256', activateAfterSec: 0 }, { actor: ACTOR });
    expect(rotated).toMatchObject({ alg: 'ES256', state: 'active' });
    // The old key stopped signing just now: tokens it signed may still be valid.
    expect(await errorOf(admin.retire(signing.kid, { force: false, actor: ACTOR }))).toMatchObject({ code: 'key_in_use' });
    const { key, forced } = await admin.retire(signing.kid, { force: true, actor: ACTOR });
    expect({ state: key.state, forced }).toEqual({ state: 'retired', forced: true });
    expect(await errorOf(admin.retire('no-such-kid', { force: true, actor: ACTOR }))).toMatchObject({ code: 'not_found' });
    expect(await eventsOf(rotated.kid)).toEqual([['key.rotated', ACTOR]]);
    expect(await eventsOf(signing.kid)).toEqual([['key.retired', ACTOR]]);
  });
});

describe('audit', () => {
  it('pages newest first on (at, id), with no duplicate and no gap when events arrive between pages', async () => {
    let clock = new Date('2026-12-01T10:00:00.000Z');
    const audit = createAuditService({ repository: createAuditRepository(database.db), now: () => clock });
    await database.db.prisma.auditEvent.deleteMany();
    // Three in one millisecond: the id breaks the tie.
    for (let i = 0; i < 3; i++) await audit.recordNow({ type: 'client.created', subject: `same-ms-${i}` });
    for (let i = 0; i < 3; i++) {
      clock = new Date(clock.getTime() + 1000);
      await audit.recordNow({ type: 'client.deleted', subject: `later-${i}` });
    }
    const existing = (await audit.page({ limit: 100 })).events.map((event) => event.id);
    const seen: string[] = [];
    let before: { at: Date; id: string } | undefined;
    for (let round = 0; ; round++) {
      const page = await audit.page({ types: ['client.*'], limit: 2, ...(before && { before }) });
      seen.push(...page.events.map((event) => event.id));
      clock = new Date(clock.getTime() + 1000);
      if (round < 2) await audit.recordNow({ type: 'client.updated', subject: `new-${round}` });
      if (!page.next) break;
      before = page.next;
    }
    expect(seen).toEqual(existing);
    expect(await errorOf(audit.page({ types: ['nope.*'] }))).toMatchObject({ code: 'invalid_input' });
    await audit.stop();
  });

  it('counts tokens issued and failed sign-ins per hour, zeros included', async () => {
    let clock = new Date('2026-12-02T08:10:00.000Z');
    const audit = createAuditService({ repository: createAuditRepository(database.db), now: () => clock });
    const at = async (iso: string, type: 'token.issued' | 'login.failure' | 'mfa.failed' | 'passkey.failed' | 'login.success') => {
      clock = new Date(iso);
      await audit.recordNow({ type });
    };
    await at('2026-12-02T07:59:59.999Z', 'token.issued'); // before the window
    await at('2026-12-02T08:00:00.000Z', 'token.issued');
    await at('2026-12-02T08:59:59.999Z', 'token.issued');
    await at('2026-12-02T08:30:00.000Z', 'login.failure');
    await at('2026-12-02T10:05:00.000Z', 'mfa.failed');
    await at('2026-12-02T10:06:00.000Z', 'passkey.failed');
    await at('2026-12-02T10:07:00.000Z', 'login.success');
    clock = new Date('2026-12-02T10:30:00.000Z');
    const hours = await audit.hourlySummary(new Date('2026-12-02T08:00:00.000Z'));
    expect(hours.map((hour) => [hour.hour.toISOString(), hour.tokensIssued, hour.failedLogins])).toEqual([
      ['2026-12-02T08:00:00.000Z', 2, 1],
      ['2026-12-02T09:00:00.000Z', 0, 0],
      ['2026-12-02T10:00:00.000Z', 0, 2],
    ]);
    await audit.stop();
  });
});
