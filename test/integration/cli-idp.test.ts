// `latchkey idp …` as an operator runs it (a real child process, a real
// database on the dialect under test): providers created, listed, changed,
// enabled, disabled and deleted; the client secret read from stdin only,
// sealed in the database (never there in clear), never printed and never in
// an audit event; refusals exit non-zero with the exact error code and
// change nothing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createIdpSecretSealer } from '../../src/federation/identity-provider-service.ts';
import { createServices, type Services } from '../../src/services.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const SECRET = randomBytes(32).toString('base64url');
const CLIENT_SECRET = 'acme-upstream-client-secret-0123456789';

let testDb: TestDatabase;
let services: Services;
let env: Record<string, string>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  // One master secret for every run: each CLI run gets a fresh data directory.
  env = { DATABASE_URL: testDb.url, ISSUER: 'http://localhost:3000', LATCHKEY_SECRET: SECRET };
  services = createServices({ config: loadConfig({ NODE_ENV: 'test', ...env }), db: testDb.db });
});

afterAll(async () => {
  await testDb?.drop();
});

const cli = (args: readonly string[], input?: string): Promise<CliResult> => runCli(args, { env, ...(input !== undefined && { input }) });

async function json<T = Record<string, any>>(args: readonly string[], input?: string): Promise<T> {
  const result = await cli([...args, '--json'], input);
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout).not.toContain(CLIENT_SECRET);
  return JSON.parse(result.stdout) as T;
}

async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

const sealedRow = (slug: string) => testDb.db.prisma.identityProvider.findUniqueOrThrow({ where: { slug } });

describe('latchkey idp', () => {
  it('create: prints the provider (never the secret), and seals the secret read from stdin', async () => {
    const { idp } = await json(['idp', 'create', '--name', 'Acme SSO', '--issuer', 'https://sso.acme.example', '--client-id', 'latchkey', '--client-secret-stdin'], `${CLIENT_SECRET}\n`);
    expect(Object.keys(idp).sort()).toEqual(['clientId', 'createdAt', 'enabled', 'id', 'issuer', 'name', 'scope', 'slug', 'type', 'updatedAt']);
    expect(idp).toMatchObject({ slug: 'acme-sso', name: 'Acme SSO', type: 'oidc', issuer: 'https://sso.acme.example', clientId: 'latchkey', scope: 'openid email profile', enabled: true });

    const row = await sealedRow('acme-sso');
    expect(row.sealedClientSecret).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(row.sealedClientSecret).not.toContain(CLIENT_SECRET);
    // What the server opens it with: the master secret's own key for upstream secrets, bound to the row; the trailing newline gone.
    expect(createIdpSecretSealer(SECRET).open(row.sealedClientSecret, row.id)).toBe(CLIENT_SECRET);
    expect(await services.identityProviders.clientSecretOf(idp)).toBe(CLIENT_SECRET);
    // Nowhere else in the database either: the audit event names the provider, not its secret.
    const events = await services.audit.list({ types: ['idp.created'] });
    expect(events.map((event) => [event.actor, event.subject])).toEqual([['cli', 'acme-sso']]);
    expect(JSON.stringify(events)).not.toContain(CLIENT_SECRET);
  });

  it('create: a github provider with its defaults, a typed slug, disabled; the human output names the callback path', async () => {
    const text = await cli(['idp', 'create', '--name', 'GitHub', '--type', 'github', '--slug', 'gh', '--client-id', 'Iv1.abc', '--client-secret-stdin', '--disabled'], 'gh-secret');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain('Added identity provider.');
    expect(text.stdout).toMatch(/callback path:\s+\/federation\/gh\/callback/);
    expect(text.stdout).not.toContain('gh-secret');
    expect(await services.identityProviders.findBySlug('gh')).toMatchObject({ type: 'github', issuer: 'https://github.com', scope: 'read:user user:email', enabled: false });
  });

  it('list: every provider by name, as JSON and as a table', async () => {
    const { idps } = await json(['idp', 'list']);
    expect(idps.map((idp: { slug: string; enabled: boolean }) => [idp.slug, idp.enabled])).toEqual([['acme-sso', true], ['gh', false]]);
    const table = await cli(['idp', 'list']);
    expect(table.stdout).toMatch(/SLUG\s+STATUS\s+TYPE\s+NAME\s+ISSUER\nacme-sso\s+enabled\s+oidc\s+Acme SSO\s+https:\/\/sso\.acme\.example\ngh\s+disabled\s+github\s+GitHub\s+https:\/\/github\.com/);
  });

  it('update: changes the fields given, a new secret from stdin sealed again; enable and disable', async () => {
    const before = await sealedRow('acme-sso');
    const { idp } = await json(['idp', 'update', 'acme-sso', '--name', 'Acme Login', '--scope', 'openid email', '--client-secret-stdin'], 'a-rotated-upstream-secret');
    expect(idp).toMatchObject({ slug: 'acme-sso', name: 'Acme Login', scope: 'openid email', clientId: 'latchkey', issuer: 'https://sso.acme.example' });
    const after = await sealedRow('acme-sso');
    expect(after.sealedClientSecret).not.toBe(before.sealedClientSecret);
    expect(await services.identityProviders.clientSecretOf(idp)).toBe('a-rotated-upstream-secret');
    const [updated] = await services.audit.list({ types: ['idp.updated'] });
    expect(updated?.details).toMatchObject({ changed: ['name', 'scope', 'clientSecret'] });
    expect(JSON.stringify(updated)).not.toContain('a-rotated-upstream-secret');

    // No secret given: the sealed one is left exactly as it was.
    await json(['idp', 'update', 'acme-sso', '--issuer', 'https://login.acme.example/', '--client-id', 'latchkey-2']);
    expect((await sealedRow('acme-sso')).sealedClientSecret).toBe(after.sealedClientSecret);
    expect(await services.identityProviders.findBySlug('acme-sso')).toMatchObject({ issuer: 'https://login.acme.example/', clientId: 'latchkey-2' });

    expect((await json(['idp', 'enable', 'gh'])).idp).toMatchObject({ slug: 'gh', enabled: true });
    expect((await json(['idp', 'disable', 'acme-sso'])).idp).toMatchObject({ enabled: false });
    expect((await cli(['idp', 'enable', 'acme-sso'])).stdout).toContain('Enabled identity provider acme-sso.');
    expect((await json(['idp', 'update', 'gh', '--disabled'])).idp).toMatchObject({ enabled: false });
    expect((await json(['idp', 'update', 'gh', '--enabled'])).idp).toMatchObject({ enabled: true });
    expect((await services.identityProviders.listEnabled()).map((idp) => idp.slug)).toEqual(['acme-sso', 'gh']);
  });

  it('refuses bad command lines and bad input with the exact code and exit status, and changes nothing', async () => {
    const before = await testDb.db.prisma.identityProvider.findMany({ orderBy: { slug: 'asc' } });
    const base = ['--issuer', 'https://new.example', '--client-id', 'id', '--client-secret-stdin'];
    const cases: { args: string[]; input?: string; code: string; status: number; field?: RegExp }[] = [
      // Usage errors (exit 2): caught before the database is opened.
      { args: ['idp'], code: 'usage_error', status: 2 },
      { args: ['idp', 'nope'], code: 'usage_error', status: 2 },
      { args: ['idp', 'create', ...base], input: 's', code: 'usage_error', status: 2 },
      { args: ['idp', 'create', '--name', 'New', '--client-id', 'id', '--client-secret-stdin'], input: 's', code: 'usage_error', status: 2 },
      { args: ['idp', 'create', '--name', 'New', '--issuer', 'https://new.example', '--client-secret-stdin'], input: 's', code: 'usage_error', status: 2 },
      { args: ['idp', 'create', '--name', 'New', '--issuer', 'https://new.example', '--client-id', 'id'], code: 'usage_error', status: 2 },
      { args: ['idp', 'create', '--name', 'New', '--issuer', 'https://new.example', '--client-id', 'id', `--client-secret=${CLIENT_SECRET}`], code: 'usage_error', status: 2 },
      { args: ['idp', 'create', '--name', 'New', ...base, '--type', 'saml'], input: 's', code: 'usage_error', status: 2 },
      { args: ['idp', 'create', '--name', 'New', ...base, 'extra'], input: 's', code: 'usage_error', status: 2 },
      { args: ['idp', 'update', 'acme-sso'], code: 'usage_error', status: 2 },
      { args: ['idp', 'update'], code: 'usage_error', status: 2 },
      { args: ['idp', 'update', 'acme-sso', '--slug', 'other'], code: 'usage_error', status: 2 },
      { args: ['idp', 'update', 'acme-sso', '--type', 'github'], code: 'usage_error', status: 2 },
      { args: ['idp', 'update', 'acme-sso', '--enabled', '--disabled'], code: 'usage_error', status: 2 },
      { args: ['idp', 'delete'], code: 'usage_error', status: 2 },
      { args: ['idp', 'enable'], code: 'usage_error', status: 2 },
      // The service's rules (exit 1).
      { args: ['idp', 'create', '--name', 'New', ...base], input: '', code: 'invalid_input', status: 1, field: /client secret is required/ },
      { args: ['idp', 'create', '--name', 'New', ...base], input: '\n', code: 'invalid_input', status: 1, field: /client secret is required/ },
      { args: ['idp', 'create', '--name', '', ...base], input: 's', code: 'invalid_input', status: 1, field: /name is required/ },
      { args: ['idp', 'create', '--name', 'x'.repeat(101), ...base], input: 's', code: 'invalid_input', status: 1, field: /name is longer/ },
      { args: ['idp', 'create', '--name', 'Tab\there', ...base], input: 's', code: 'invalid_input', status: 1, field: /name contains/ },
      { args: ['idp', 'create', '--name', '日本語', ...base], input: 's', code: 'invalid_input', status: 1, field: /gives no slug/ },
      { args: ['idp', 'create', '--name', 'New', '--slug', 'Not_A_Slug', ...base], input: 's', code: 'invalid_input', status: 1, field: /slug/ },
      { args: ['idp', 'create', '--name', 'Acme SSO', ...base], input: 's', code: 'already_exists', status: 1, field: /acme-sso already exists/ },
      { args: ['idp', 'create', '--name', 'New', '--issuer', 'new.example', '--client-id', 'id', '--client-secret-stdin'], input: 's', code: 'invalid_input', status: 1, field: /issuer/ },
      { args: ['idp', 'create', '--name', 'New', '--issuer', 'https://new.example/?a=b', '--client-id', 'id', '--client-secret-stdin'], input: 's', code: 'invalid_input', status: 1, field: /query or a fragment/ },
      { args: ['idp', 'create', '--name', 'New', '--issuer', 'https://new.example', '--client-id', ' ', '--client-secret-stdin'], input: 's', code: 'invalid_input', status: 1, field: /client id is required/ },
      { args: ['idp', 'create', '--name', 'New', ...base, '--scope', 'email profile'], input: 's', code: 'invalid_input', status: 1, field: /must include openid/ },
      { args: ['idp', 'create', '--name', 'New', ...base], input: `sec\u0000ret`, code: 'invalid_input', status: 1, field: /client secret contains/ },
      { args: ['idp', 'update', 'acme-sso', '--issuer', 'ftp://x.example'], code: 'invalid_input', status: 1, field: /issuer/ },
      { args: ['idp', 'update', 'acme-sso', '--client-secret-stdin'], input: '', code: 'invalid_input', status: 1, field: /client secret is required/ },
      { args: ['idp', 'update', 'missing', '--name', 'x'], code: 'not_found', status: 1, field: /identity provider missing does not exist/ },
      { args: ['idp', 'enable', 'missing'], code: 'not_found', status: 1 },
      { args: ['idp', 'disable', 'missing'], code: 'not_found', status: 1 },
      { args: ['idp', 'delete', 'missing'], code: 'not_found', status: 1 },
    ];
    // A process per case (each starts tsx): three at a time, so the table fits the machine.
    await inBatches(cases, 3, async ({ args, input, code, status, field }) => {
      const result = await cli([...args, '--json'], input);
      const label = `${args.join(' ')} <<< ${JSON.stringify(input)}`;
      expect(result.code, `${label}: ${result.stderr}`).toBe(status);
      const error = JSON.parse(result.stdout).error as { code: string; message: string };
      expect(error.code, label).toBe(code);
      if (field) expect(error.message, label).toMatch(field);
      expect(result.stdout + result.stderr, label).not.toContain(CLIENT_SECRET);
    });
    expect(await testDb.db.prisma.identityProvider.findMany({ orderBy: { slug: 'asc' } })).toEqual(before);
  }, 180_000);

  it('delete: removes the provider and its account links, and says so', async () => {
    const acme = (await services.identityProviders.findBySlug('acme-sso'))!;
    const account = await services.accounts.createFederated({ email: 'fed@example.com', emailVerified: true });
    await services.federatedIdentities.link({ providerId: acme.id, subject: 'sub-1', accountId: account.id, email: null, now: new Date() });

    expect(await json(['idp', 'delete', 'acme-sso'])).toMatchObject({ deleted: true, idp: { slug: 'acme-sso' } });
    expect(await services.identityProviders.findBySlug('acme-sso')).toBeUndefined();
    expect(await services.federatedIdentities.find(acme.id, 'sub-1')).toBeUndefined();
    // The account itself stays.
    expect(await services.accounts.findById(account.id)).toMatchObject({ email: 'fed@example.com' });
    expect((await cli(['idp', 'delete', 'gh'])).stdout).toContain('Deleted identity provider gh.');
    expect((await services.audit.list({ types: ['idp.deleted'] })).map((event) => event.subject).sort()).toEqual(['acme-sso', 'gh']);
  });

  it('help: the group and its commands', async () => {
    const overview = await cli(['help']);
    expect(overview.stdout).toMatch(/idp\s+Upstream identity providers people can sign in with: create, update, list, enable, disable, delete/);
    const group = await cli(['idp', '--help']);
    expect(group.stdout).toContain('latchkey idp create --name NAME [--slug SLUG] [--type oidc|github] --issuer URL --client-id ID --client-secret-stdin');
    expect(group.stdout).toContain('/federation/SLUG/callback');
  });
});
