// The `latchkey` CLI as an operator runs it: a real child process against a
// real database (SQLite, or PostgreSQL when DATABASE_URL points at one).
// Every subcommand once with --json and once for humans, then a table of
// refusals that must exit non-zero with one line on stderr and write nothing.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/accounts/password-hasher.ts';
import { loadConfig } from '../../src/config/config.ts';
import { loadMigrations, migrate } from '../../src/db/migrator.ts';
import { createServices } from '../../src/services.ts';
import { runCli, type CliOptions, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let testDb: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  // Unmigrated: the first `latchkey migrate` must do the work.
  testDb = await createTestDatabase({ migrated: false });
  env = { DATABASE_URL: testDb.url };
});

afterAll(async () => {
  await testDb?.drop();
});

const API = 'https://api.example.com';
const BILLING = 'https://billing.example.com/v2';

function cli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return runCli(args, { ...options, env: { ...env, ...options.env } });
}

/** Runs a command that must succeed with --json and returns its one JSON object. */
async function json<T = Record<string, any>>(args: readonly string[], options: CliOptions = {}): Promise<T> {
  const result = await cli([...args, '--json'], options);
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  const value = JSON.parse(result.stdout) as unknown;
  expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  expect(value).not.toHaveProperty('error');
  return value as T;
}

/** Runs a command that must succeed without --json and returns its stdout. */
async function human(args: readonly string[], options: CliOptions = {}): Promise<string> {
  const result = await cli(args, options);
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout.trim()).not.toBe('');
  expect(() => JSON.parse(result.stdout)).toThrow();
  return result.stdout;
}

const counts = async () => ({
  accounts: await testDb.db.prisma.account.count(),
  clients: await testDb.db.prisma.client.count(),
  resources: await testDb.db.prisma.apiResource.count(),
});

describe('latchkey CLI: happy paths', () => {
  it('migrate applies the migrations to a fresh database, then has nothing left', async () => {
    const known = loadMigrations(testDb.config.dialect).map((m) => m.name);
    const first = await human(['migrate']);
    expect(first).toContain(`Applied ${known.length} migration(s)`);
    for (const name of known) expect(first).toContain(name);
    expect(await json(['migrate'])).toEqual({ applied: [], known });
  });

  it('works on a fresh install: no DATABASE_URL means SQLite in the data dir, migrated first', async () => {
    const result = await runCli(['client', 'list', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ clients: [] });
    const known = loadMigrations('sqlite').map((m) => m.name);
    expect(result.stderr).toBe(`latchkey: applied migration(s) ${known.join(', ')}\n`);
  });

  it('prints help for the CLI, a group and a command', async () => {
    expect(await human(['help'])).toMatch(/Usage: latchkey <command>[\s\S]*client[\s\S]*resource[\s\S]*user/);
    expect(await human(['client', '--help'])).toContain('latchkey client rotate-secret CLIENT_ID');
    expect((await json(['user', 'create', '--help'])).usage).toContain('--password-stdin');
  });

  it('resource create / list', async () => {
    const { resource } = await json(['resource', 'create', '--identifier', API, '--scope', 'read', '--scope', 'write', '--access-token-ttl', '600', '--signing-alg', 'RS256']);
    expect(resource).toMatchObject({ identifier: API, scopes: ['read', 'write'], accessTokenTtl: 600, signingAlg: 'RS256' });
    const text = await human(['resource', 'create', '--identifier', BILLING, '--scope', 'invoices:read']);
    expect(text).toContain(BILLING);
    expect(text).toContain('900 s');

    const { resources } = await json(['resource', 'list']);
    expect(resources.map((r: { identifier: string }) => r.identifier).sort()).toEqual([API, BILLING].sort());
    const listed = await human(['resource', 'list']);
    expect(listed).toMatch(/IDENTIFIER\s+TTL\s+ALG\s+SCOPES/);
    expect(listed).toContain(`${API}`);
    expect(await counts()).toMatchObject({ resources: 2 });
  });

  let confidentialId = '';
  let publicId = '';

  it('client create prints the secret once and stores only its digest', async () => {
    const created = await cli(['client', 'create', '--name', 'Web app', '--redirect-uri', 'https://app.example.com/cb', '--resource', API, '--json']);
    expect(created.code).toBe(0);
    const { client, clientSecret } = JSON.parse(created.stdout);
    confidentialId = client.clientId;
    expect(client).toMatchObject({ name: 'Web app', public: false, grantTypes: ['authorization_code', 'refresh_token'], scope: 'openid profile email offline_access read write', resources: [API] });
    expect(created.stdout.split(clientSecret).length - 1).toBe(1);
    expect(created.stderr).not.toContain(clientSecret);
    const row = await testDb.db.prisma.client.findUniqueOrThrow({ where: { id: confidentialId } });
    expect(row.secretHash).toBe(createHash('sha256').update(clientSecret).digest('hex'));
    expect(row.metadata).not.toContain(clientSecret);

    const text = await human(['client', 'create', '--name', 'Machine', '--grant-types', 'client_credentials', '--resource', BILLING]);
    expect(text).toMatch(/client_id:\s+lk_/);
    expect(text).toMatch(/client_secret:\s+[A-Za-z0-9_-]{43}/);
    expect(text).toContain('will not be shown again');

    const native = await human(['client', 'create', '--name', 'Phone', '--public', '--redirect-uri', 'com.example.app:/cb']);
    publicId = /client_id:\s+(lk_\S+)/.exec(native)![1]!;
    expect(native).toContain('public (native)');
    expect(native).not.toContain('client_secret');
    expect(await counts()).toMatchObject({ clients: 3 });
  });

  it('client list / show', async () => {
    const { clients } = await json(['client', 'list']);
    expect(clients.map((c: { name: string }) => c.name)).toEqual(['Web app', 'Machine', 'Phone']);
    for (const c of clients) expect(JSON.stringify(c)).not.toMatch(/secret"?:/i);
    const listed = await human(['client', 'list']);
    expect(listed).toMatch(/CLIENT_ID\s+NAME\s+TYPE\s+GRANT_TYPES/);
    expect(listed).toContain(confidentialId);

    const { client } = await json(['client', 'show', confidentialId]);
    expect(client).toMatchObject({ clientId: confidentialId, redirectUris: ['https://app.example.com/cb'] });
    const shown = await human(['client', 'show', publicId]);
    expect(shown).toContain('com.example.app:/cb');
    expect(shown).toMatch(/auth method:\s+none/);
  });

  it('client rotate-secret replaces the stored digest', async () => {
    const before = (await testDb.db.prisma.client.findUniqueOrThrow({ where: { id: confidentialId } })).secretHash;
    const { clientSecret } = await json(['client', 'rotate-secret', confidentialId]);
    const after = (await testDb.db.prisma.client.findUniqueOrThrow({ where: { id: confidentialId } })).secretHash;
    expect(after).not.toBe(before);
    expect(after).toBe(createHash('sha256').update(clientSecret).digest('hex'));

    const text = await human(['client', 'rotate-secret', confidentialId]);
    const secret = /client_secret:\s+(\S+)/.exec(text)![1]!;
    expect(secret).not.toBe(clientSecret);
    expect(text).toContain('will not be shown again');
  });

  it('user create reads the password from stdin, minus one trailing newline', async () => {
    const { user } = await json(['user', 'create', '--email', 'Alice@Example.com', '--name', 'Alice', '--password-stdin'], { input: 'correct horse battery\n' });
    expect(user).toMatchObject({ email: 'alice@example.com', name: 'Alice', disabled: false });
    expect(user).not.toHaveProperty('passwordHash');
    const row = await testDb.db.prisma.account.findUniqueOrThrow({ where: { id: user.id } });
    const hasher = createPasswordHasher();
    expect(row.passwordHash!.startsWith('$argon2id$')).toBe(true);
    expect(await hasher.verify(row.passwordHash!, 'correct horse battery')).toBe(true);

    const text = await human(['user', 'create', '--email', 'bob@example.com', '--password-stdin'], { input: 'bob password\r\n' });
    expect(text).toContain('bob@example.com');
    const bob = await testDb.db.prisma.account.findUniqueOrThrow({ where: { email: 'bob@example.com' } });
    expect(await hasher.verify(bob.passwordHash!, 'bob password')).toBe(true);
  });

  it('user list / disable / enable / set-password', async () => {
    const { users } = await json(['user', 'list']);
    expect(users.map((u: { email: string }) => u.email)).toEqual(['alice@example.com', 'bob@example.com']);
    for (const u of users) expect(u).not.toHaveProperty('passwordHash');
    expect(await human(['user', 'list'])).toMatch(/EMAIL\s+STATUS[\s\S]*alice@example\.com\s+enabled/);

    expect((await json(['user', 'disable', 'ALICE@example.com'])).user).toMatchObject({ disabled: true });
    expect(await human(['user', 'enable', 'alice@example.com'])).toContain('Enabled alice@example.com');
    expect(await human(['user', 'disable', 'bob@example.com'])).toContain('Disabled bob@example.com');
    expect((await json(['user', 'enable', 'bob@example.com'])).user).toMatchObject({ disabled: false });
    expect((await testDb.db.prisma.account.findMany({ where: { disabled: true } })).length).toBe(0);

    const hasher = createPasswordHasher();
    await json(['user', 'set-password', 'alice@example.com', '--password-stdin'], { input: 'a brand new one\n' });
    let alice = await testDb.db.prisma.account.findUniqueOrThrow({ where: { email: 'alice@example.com' } });
    expect(await hasher.verify(alice.passwordHash!, 'a brand new one')).toBe(true);
    expect(await human(['user', 'set-password', 'alice@example.com', '--password-stdin'], { input: 'and another one' })).toContain('Password changed');
    alice = await testDb.db.prisma.account.findUniqueOrThrow({ where: { email: 'alice@example.com' } });
    expect(await hasher.verify(alice.passwordHash!, 'and another one')).toBe(true);
  });

  it('client delete / resource delete', async () => {
    expect(await json(['client', 'delete', confidentialId])).toMatchObject({ deleted: true, client: { clientId: confidentialId } });
    expect(await human(['client', 'delete', publicId])).toContain(`Deleted client ${publicId}`);
    expect(await json(['resource', 'delete', BILLING])).toMatchObject({ deleted: true, resource: { identifier: BILLING } });
    expect(await counts()).toMatchObject({ clients: 1, resources: 1 });
  });
});

describe('latchkey CLI: refusals write nothing', () => {
  const production = { NODE_ENV: 'production', LATCHKEY_SECRET: randomBytes(32).toString('base64url'), ISSUER: 'https://id.example.com' };
  const web = ['client', 'create', '--name', 'Refused', '--redirect-uri', 'https://app.example.com/cb'];

  interface Case {
    readonly label: string;
    readonly args: readonly string[];
    readonly exit: 1 | 2;
    /** JSON error code, also checked in human mode through the exit status. */
    readonly code: string;
    readonly message: string;
    readonly json: boolean;
    readonly options?: CliOptions;
  }

  const cases: Case[] = [
    { label: 'unknown grant type', args: [...web, '--grant-types', 'authorization_code,password'], exit: 1, code: 'invalid_input', message: 'unknown grant type "password"', json: true },
    { label: 'relative redirect URI', args: ['client', 'create', '--name', 'R', '--redirect-uri', 'callback'], exit: 1, code: 'invalid_input', message: '"callback" is not an absolute URI', json: false },
    { label: 'http redirect to a remote host in production', args: ['client', 'create', '--name', 'R', '--redirect-uri', 'http://app.example.com/cb'], exit: 1, code: 'invalid_input', message: 'must use https in production', json: true, options: { env: production } },
    { label: 'duplicate email (other case)', args: ['user', 'create', '--email', 'ALICE@example.COM', '--password-stdin'], exit: 1, code: 'already_exists', message: 'exists', json: true, options: { input: 'long enough password' } },
    { label: 'duplicate resource', args: ['resource', 'create', '--identifier', API, '--scope', 'x'], exit: 1, code: 'already_exists', message: 'exists', json: false },
    { label: 'unregistered --resource', args: [...web, '--resource', 'https://unknown.example.com'], exit: 1, code: 'invalid_input', message: 'resource https://unknown.example.com is not registered', json: true },
    { label: '--public with client_credentials', args: ['client', 'create', '--name', 'P', '--public', '--grant-types', 'client_credentials', '--resource', API], exit: 1, code: 'invalid_input', message: 'public client cannot use the client_credentials grant', json: true },
    { label: 'missing --name', args: ['client', 'create', '--redirect-uri', 'https://app.example.com/cb'], exit: 2, code: 'usage_error', message: 'missing required option --name', json: true },
    { label: 'password in argv', args: ['user', 'create', '--email', 'carol@example.com', '--password', 'hunter2hunter2'], exit: 2, code: 'usage_error', message: '--password-stdin', json: false },
    { label: 'password= in argv', args: ['user', 'set-password', 'alice@example.com', '--password=hunter2hunter2'], exit: 2, code: 'usage_error', message: '--password-stdin', json: true },
    { label: 'user create without --password-stdin', args: ['user', 'create', '--email', 'carol@example.com'], exit: 2, code: 'usage_error', message: 'missing required option --password-stdin', json: true },
    { label: 'too short a password from stdin', args: ['user', 'create', '--email', 'carol@example.com', '--password-stdin'], exit: 1, code: 'invalid_input', message: 'password must be 8 to 256 characters', json: true, options: { input: 'short\n' } },
    { label: 'unknown subcommand', args: ['client', 'frobnicate'], exit: 2, code: 'usage_error', message: 'unknown client command "frobnicate"', json: true },
    { label: 'unknown command', args: ['clients', 'list'], exit: 2, code: 'usage_error', message: 'unknown command "clients"', json: false },
    { label: 'unknown option', args: ['resource', 'list', '--all'], exit: 2, code: 'usage_error', message: "Unknown option '--all'", json: true },
    { label: 'a key id starting with - given without --', args: ['keys', 'retire', '-Xk2b'], exit: 2, code: 'usage_error', message: "an argument that starts with '-' goes after --", json: true },
    { label: 'unknown client id', args: ['client', 'show', 'lk_nope'], exit: 1, code: 'not_found', message: 'client lk_nope does not exist', json: true },
    { label: 'rotating a public client', args: ['client', 'rotate-secret', 'PUBLIC'], exit: 1, code: 'invalid_input', message: 'has no secret to rotate', json: true },
    { label: 'bad TTL', args: ['resource', 'create', '--identifier', 'https://ttl.example.com', '--scope', 'a', '--access-token-ttl', '1h'], exit: 1, code: 'invalid_input', message: 'access token TTL must be a whole number', json: true },
    { label: 'invalid configuration', args: ['user', 'list'], exit: 1, code: 'config_invalid', message: 'LATCHKEY_SECRET: is required when NODE_ENV=production', json: true, options: { env: { NODE_ENV: 'production' } } },
  ];

  let publicClientId = '';
  beforeAll(async () => {
    // Self-contained: the state the refusals run against, written through the services' own rules.
    await migrate(testDb.config);
    const services = createServices({ config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: testDb.url }), db: testDb.db });
    if (!(await services.resources.findByIdentifier(API))) await services.resources.create({ identifier: API, scopes: ['read'] });
    if (!(await services.accounts.findByEmail('alice@example.com'))) await services.accounts.create({ email: 'alice@example.com', password: 'alice password' });
    publicClientId = (await services.clients.create({ name: 'Public', public: true, redirectUris: ['https://spa.example.com/cb'] })).client.clientId;
  });

  for (const c of cases) {
    it(`${c.label}: exit ${c.exit}, ${c.code}`, async () => {
      const args = c.args.map((arg) => (arg === 'PUBLIC' ? publicClientId : arg));
      const before = await counts();
      const snapshot = await testDb.db.prisma.account.findMany({ orderBy: { id: 'asc' } });
      const result = await cli(c.json ? [...args, '--json'] : args, c.options);

      expect(result.code).toBe(c.exit);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(c.message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      if (c.json) {
        expect(JSON.parse(result.stdout)).toEqual({ error: { code: c.code, message: expect.stringContaining(c.message) } });
      } else {
        expect(result.stdout).toBe('');
      }
      expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2hunter2');
      expect(await counts()).toEqual(before);
      expect(await testDb.db.prisma.account.findMany({ orderBy: { id: 'asc' } })).toEqual(snapshot);
    });
  }
});
