// Audit events from the CLI, run as an operator runs it (a spawned process):
// every change is stored with actor "cli" before the command prints, a refused
// command stores nothing, and `latchkey audit list` filters by time, type and
// count, for people and with --json.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditRepository } from '../../src/audit/audit-repository.ts';
import { createKeyRepository } from '../../src/keys/key-repository.ts';
import { createKeyService } from '../../src/keys/key-service.ts';
import { createSealer } from '../../src/keys/sealing.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const SECRET = randomBytes(32).toString('base64url');
const API = 'https://audit.example.test/api';
const PASSWORD = 'a password for the audit test';
const NEW_PASSWORD = 'another password for the audit test';

let testDb: TestDatabase;
const cli = (args: readonly string[], input?: string): Promise<CliResult> =>
  runCli(args, { env: { DATABASE_URL: testDb.url, LATCHKEY_SECRET: SECRET }, ...(input !== undefined && { input }) });

async function json<T = Record<string, any>>(args: readonly string[], input?: string): Promise<T> {
  // Before a `--` (after which a kid starting with "-" is safe from option parsing).
  const end = args.indexOf('--');
  const result = await cli(end < 0 ? [...args, '--json'] : [...args.slice(0, end), '--json', ...args.slice(end)], input);
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

interface ListedEvent {
  id: string;
  type: string;
  at: string;
  actor: string | null;
  subject: string | null;
  clientId: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}
const list = async (...args: string[]) => (await json<{ events: ListedEvent[] }>(['audit', 'list', ...args])).events;

let clientId: string;
let clientSecrets: string[];
let userId: string;
let oldKid: string;
let newKid: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  // The first keys, as the server makes them at its first start.
  const keys = createKeyService({ keys: createKeyRepository(testDb.db.prisma, testDb.db.dialect), sealer: createSealer(SECRET) });
  await keys.ensureKeys();
  oldKid = (await keys.signingJwks()).keys.find((key) => key.alg === 'ES256')!.kid!;

  await json(['resource', 'create', '--identifier', API, '--scope', 'read', '--scope', 'write']);
  const created = await json(['client', 'create', '--name', 'Audited', '--grant-types', 'client_credentials', '--resource', API]);
  clientId = created.client.clientId;
  const rotated = await json(['client', 'rotate-secret', clientId]);
  clientSecrets = [created.clientSecret, rotated.clientSecret];
  userId = (await json(['user', 'create', '--email', 'audit@example.test', '--password-stdin'], `${PASSWORD}\n`)).user.id;
  await json(['user', 'disable', 'audit@example.test']);
  await json(['user', 'enable', 'audit@example.test']);
  await json(['user', 'set-password', 'audit@example.test', '--password-stdin'], NEW_PASSWORD);
  newKid = (await json(['keys', 'rotate', '--alg', 'ES256', '--activate-after', '0'])).key.kid;
  await json(['keys', 'retire', '--force', '--', oldKid]);
  await json(['client', 'delete', clientId]);
  await json(['resource', 'delete', API]);
}, 120_000);

afterAll(async () => {
  await testDb?.drop();
});

describe('CLI changes', () => {
  it('are each stored once, with actor "cli", before the command returns', async () => {
    const events = (await list()).reverse();
    const expected = [
      { type: 'resource.created', subject: API, clientId: null, details: { scopes: ['read', 'write'], accessTokenTtl: 900, signingAlg: 'ES256' } },
      { type: 'client.created', subject: clientId, clientId, details: { name: 'Audited', public: false, grantTypes: ['client_credentials'] } },
      { type: 'client.secret_rotated', subject: clientId, clientId, details: null },
      { type: 'user.created', subject: userId, clientId: null, details: null },
      { type: 'user.disabled', subject: userId, clientId: null, details: null },
      { type: 'user.enabled', subject: userId, clientId: null, details: null },
      { type: 'user.password_set', subject: userId, clientId: null, details: null },
      { type: 'key.rotated', subject: newKid, clientId: null, details: { alg: 'ES256', activatesAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } },
      { type: 'key.retired', subject: oldKid, clientId: null, details: { alg: 'ES256', forced: true } },
      { type: 'client.deleted', subject: clientId, clientId, details: { name: 'Audited' } },
      { type: 'resource.deleted', subject: API, clientId: null, details: null },
    ].map((event) => ({ ...event, actor: 'cli', ip: null, id: expect.any(String), at: expect.any(String) }));
    expect(events).toEqual(expected);
  });

  it('never store a client secret, a password or an email', async () => {
    const stored = JSON.stringify(await testDb.db.prisma.auditEvent.findMany());
    for (const secret of [...clientSecrets, PASSWORD, NEW_PASSWORD, 'audit@example.test']) expect(stored).not.toContain(secret);
  });

  it.each([
    ['deleting an unknown client', ['client', 'delete', 'lk_unknown'], 1],
    ['disabling an unknown user', ['user', 'disable', 'nobody@example.test'], 1],
    ['retiring an unknown key', ['keys', 'retire', 'no-such-kid'], 1],
    ['creating an invalid resource', ['resource', 'create', '--identifier', 'not a url', '--scope', 'read'], 1],
    ['a usage error', ['client', 'create'], 2],
  ] as const)('a refused command stores nothing: %s', async (_case, args, exit) => {
    const before = await testDb.db.prisma.auditEvent.count();
    const result = await cli([...args, '--json']);
    expect(result.code).toBe(exit);
    expect(await testDb.db.prisma.auditEvent.count()).toBe(before);
  });
});

describe('latchkey audit list', () => {
  it('lists newest first, with --limit', async () => {
    const all = await list();
    expect(all.map((event) => event.at)).toEqual([...all.map((event) => event.at)].sort().reverse());
    expect(all[0]!.type).toBe('resource.deleted');
    expect((await list('--limit', '3')).map((event) => event.type)).toEqual(['resource.deleted', 'client.deleted', 'key.retired']);
  });

  it('filters by exact type, several types, and a group', async () => {
    expect((await list('--type', 'client.created')).map((e) => e.type)).toEqual(['client.created']);
    expect((await list('--type', 'client.created', '--type', 'key.retired')).map((e) => e.type)).toEqual(['key.retired', 'client.created']);
    expect((await list('--type', 'client.created,key.retired')).map((e) => e.type)).toEqual(['key.retired', 'client.created']);
    expect((await list('--type', 'user.*')).map((e) => e.type)).toEqual(['user.password_set', 'user.enabled', 'user.disabled', 'user.created']);
    expect(await list('--type', 'login.*')).toEqual([]);
  });

  it('filters by --since, as a span back from now or an instant', async () => {
    // An event three days old, stored the way the server stores them.
    const old = new Date(Date.now() - 3 * 86_400_000);
    await createAuditRepository(testDb.db).insert({ id: '00000000-0000-7000-8000-000000000001', type: 'login.failure', at: old, actor: null, subject: null, clientId: null, ip: '203.0.113.7', details: '{"reason":"unknown_account"}' });
    try {
      const types = async (...args: string[]) => (await list('--type', 'login.failure', ...args)).map((e) => e.ip);
      expect(await types()).toEqual(['203.0.113.7']);
      expect(await types('--since', '7d')).toEqual(['203.0.113.7']);
      expect(await types('--since', '1d')).toEqual([]);
      expect(await types('--since', '71h')).toEqual([]);
      expect(await types('--since', new Date(old.getTime() - 1000).toISOString())).toEqual(['203.0.113.7']);
      expect(await types('--since', new Date(old.getTime() + 1000).toISOString())).toEqual([]);
      expect((await list('--since', '1h')).length).toBe(11);
    } finally {
      await testDb.db.prisma.auditEvent.delete({ where: { id: '00000000-0000-7000-8000-000000000001' } });
    }
  });

  it('prints a readable table for people, and says so when nothing matches', async () => {
    const result = await cli(['audit', 'list', '--type', 'client.*']);
    expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^AT\s+TYPE\s+ACTOR\s+SUBJECT\s+CLIENT\s+IP\s+DETAILS$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+client\\.deleted\\s+cli\\s+${clientId}\\s+${clientId}\\s+-\\s+name=Audited$`));
    expect(lines[3]).toContain('name=Audited public=false grantTypes=client_credentials');
    const none = await cli(['audit', 'list', '--type', 'logout']);
    expect(none.stdout).toBe('No audit events match.\n');
  });

  it.each([
    ['a --since that is no time', ['--since', 'yesterday'], 1, 'invalid_input'],
    ['an unknown --type', ['--type', 'login.typo'], 1, 'invalid_input'],
    ['an unknown group', ['--type', 'nope.*'], 1, 'invalid_input'],
    ['--limit 0', ['--limit', '0'], 1, 'invalid_input'],
    ['--limit past the maximum', ['--limit', '1001'], 1, 'invalid_input'],
    ['--limit that is not a number', ['--limit', 'ten'], 1, 'invalid_input'],
    ['an unknown option', ['--actor', 'cli'], 2, 'usage_error'],
    ['an argument', ['extra'], 2, 'usage_error'],
  ] as const)('refuses %s (%j): exit %i, %s', async (_case, args, exit, code) => {
    const result = await cli(['audit', 'list', ...args, '--json']);
    expect(result.code).toBe(exit);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code, message: expect.any(String) } });
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
