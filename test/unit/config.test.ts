import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/errors.ts';

const SECRET = randomBytes(32).toString('base64url');

describe('loadConfig', () => {
  it('has embedded defaults: SQLite under ./data, port 3000, localhost issuer', () => {
    const config = loadConfig({}, '/srv/latchkey');
    expect(config.database).toEqual({ dialect: 'sqlite', url: 'file:/srv/latchkey/data/latchkey.db', sqlitePath: '/srv/latchkey/data/latchkey.db' });
    expect(config.port).toBe(3000);
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.masterSecret).toBeNull();
    expect(config.ttl.accessToken).toBe(900);
    expect(config.trustProxy).toBe(false);
    expect(config.keys).toEqual({ activationDelay: 3600, rotationDays: 0, watchInterval: 5 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ttl)).toBe(true);
  });

  it.each([
    ['file:./other.db', { dialect: 'sqlite', sqlitePath: '/srv/other.db' }],
    ['file:/abs/x.db', { dialect: 'sqlite', sqlitePath: '/abs/x.db' }],
    ['postgresql://u:p@db:5432/latchkey', { dialect: 'postgres', url: 'postgresql://u:p@db:5432/latchkey' }],
    ['postgres://db/latchkey', { dialect: 'postgres', url: 'postgres://db/latchkey' }],
  ])('DATABASE_URL=%s selects the dialect', (url, expected) => {
    expect(loadConfig({ DATABASE_URL: url }, '/srv')).toMatchObject({ database: expected });
  });

  it('derives the issuer from PORT and strips a trailing slash from ISSUER', () => {
    expect(loadConfig({ PORT: '8080' }).issuer).toBe('http://localhost:8080');
    expect(loadConfig({ ISSUER: 'https://id.example.com/' }).issuer).toBe('https://id.example.com');
    expect(loadConfig({ ISSUER: 'https://example.com/tenant/' }).issuer).toBe('https://example.com/tenant');
  });

  it('accepts production settings with https and a secret', () => {
    const config = loadConfig({ NODE_ENV: 'production', ISSUER: 'https://id.example.com', LATCHKEY_SECRET: SECRET });
    expect(config.env).toBe('production');
    expect(config.masterSecret).toBe(SECRET);
  });

  // Each bad value stops start-up with one line naming the variable.
  it.each([
    [{ PORT: 'eighty' }, 'PORT', 'not a whole number'],
    [{ PORT: '70000' }, 'PORT', 'between 0 and 65535'],
    [{ PORT: '-1' }, 'PORT', 'not a whole number'],
    [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL', 'must start with file:'],
    [{ DATABASE_URL: 'file:' }, 'DATABASE_URL', 'needs a path'],
    [{ DATABASE_URL: 'postgresql://' }, 'DATABASE_URL', 'not a valid PostgreSQL URL'],
    [{ ISSUER: 'not a url' }, 'ISSUER', 'not an absolute URL'],
    [{ ISSUER: 'ftp://x' }, 'ISSUER', 'http or https'],
    [{ ISSUER: 'https://x.example/?a=1' }, 'ISSUER', 'query or fragment'],
    [{ ISSUER: 'https://u:p@x.example' }, 'ISSUER', 'credentials'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV', 'not one of'],
    [{ NODE_ENV: 'production', ISSUER: 'https://id.example.com' }, 'LATCHKEY_SECRET', 'required when NODE_ENV=production'],
    [{ NODE_ENV: 'production', ISSUER: 'http://id.example.com', LATCHKEY_SECRET: SECRET }, 'ISSUER', 'must use https in production'],
    [{ LATCHKEY_SECRET: 'short' }, 'LATCHKEY_SECRET', 'at least 32 random bytes'],
    [{ LATCHKEY_SECRET: 'my production passphrase is long enough' }, 'LATCHKEY_SECRET', 'at least 32 random bytes'],
    [{ LATCHKEY_ACCESS_TOKEN_TTL: '0' }, 'LATCHKEY_ACCESS_TOKEN_TTL', 'between 1 and'],
    [{ LATCHKEY_REFRESH_TOKEN_TTL: '1.5' }, 'LATCHKEY_REFRESH_TOKEN_TTL', 'not a whole number'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'not one of'],
    [{ LATCHKEY_TRUST_PROXY: 'yes' }, 'LATCHKEY_TRUST_PROXY', 'not true or false'],
    [{ LATCHKEY_REQUIRE_PAR: 'always' }, 'LATCHKEY_REQUIRE_PAR', 'not true or false'],
    [{ LATCHKEY_REGISTRATION: 'on' }, 'LATCHKEY_REGISTRATION', 'not one of'],
    [{ LATCHKEY_KEY_ACTIVATION_DELAY: '1h' }, 'LATCHKEY_KEY_ACTIVATION_DELAY', 'not a whole number'],
    [{ LATCHKEY_KEY_ACTIVATION_DELAY: '2592001' }, 'LATCHKEY_KEY_ACTIVATION_DELAY', 'between 0 and 2592000'],
    [{ LATCHKEY_KEY_ROTATION_DAYS: '-7' }, 'LATCHKEY_KEY_ROTATION_DAYS', 'not a whole number'],
    [{ LATCHKEY_KEY_ROTATION_DAYS: '3651' }, 'LATCHKEY_KEY_ROTATION_DAYS', 'between 0 and 3650'],
    [{ LATCHKEY_KEY_WATCH_INTERVAL: '0' }, 'LATCHKEY_KEY_WATCH_INTERVAL', 'between 1 and 3600'],
    [{ LATCHKEY_KEY_WATCH_INTERVAL: '0.5' }, 'LATCHKEY_KEY_WATCH_INTERVAL', 'not a whole number'],
    [{ LATCHKEY_METRICS_TOKEN: 'short' }, 'LATCHKEY_METRICS_TOKEN', 'at least 16 characters'],
    [{ LATCHKEY_REGISTRY_WATCH_INTERVAL_MS: '50' }, 'LATCHKEY_REGISTRY_WATCH_INTERVAL_MS', 'between 100 and 60000'],
    [{ LATCHKEY_PASSWORD_HASH_CONCURRENCY: '0' }, 'LATCHKEY_PASSWORD_HASH_CONCURRENCY', 'between 1 and 64'],
    [{ LATCHKEY_PASSWORD_HASH_CONCURRENCY: 'two' }, 'LATCHKEY_PASSWORD_HASH_CONCURRENCY', 'not a whole number'],
    [{ LATCHKEY_PASSWORD_HASH_QUEUE: '-1' }, 'LATCHKEY_PASSWORD_HASH_QUEUE', 'not a whole number'],
    [{ LATCHKEY_PASSWORD_HASH_QUEUE: '10001' }, 'LATCHKEY_PASSWORD_HASH_QUEUE', 'between 0 and 10000'],
    // Below every one of OWASP's argon2id minimums (47104×1, 19456×2, 12288×3, 9216×4, 7168×5).
    [{ LATCHKEY_ARGON2_MEMORY_KIB: '19456', LATCHKEY_ARGON2_PASSES: '1' }, 'LATCHKEY_ARGON2_MEMORY_KIB', "below OWASP's minimum"],
    [{ LATCHKEY_ARGON2_MEMORY_KIB: '4096', LATCHKEY_ARGON2_PASSES: '10' }, 'LATCHKEY_ARGON2_MEMORY_KIB', "below OWASP's minimum"],
    [{ LATCHKEY_ARGON2_MEMORY_KIB: '9215', LATCHKEY_ARGON2_PASSES: '4' }, 'LATCHKEY_ARGON2_MEMORY_KIB', "below OWASP's minimum"],
    [{ LATCHKEY_ARGON2_PASSES: '4' }, 'LATCHKEY_ARGON2_MEMORY_KIB', "below OWASP's minimum"],
    [{ LATCHKEY_ARGON2_MEMORY_KIB: '19 MiB' }, 'LATCHKEY_ARGON2_MEMORY_KIB', 'not a whole number'],
    [{ LATCHKEY_ARGON2_PARALLELISM: '0' }, 'LATCHKEY_ARGON2_PARALLELISM', 'between 1 and 16'],
    [{ LATCHKEY_AUDIT_RETENTION_DAYS: '30d' }, 'LATCHKEY_AUDIT_RETENTION_DAYS', 'not a whole number'],
    [{ LATCHKEY_REFRESH_REUSE_GRACE: '5s' }, 'LATCHKEY_REFRESH_REUSE_GRACE', 'not a whole number'],
    [{ LATCHKEY_REFRESH_REUSE_GRACE: '301' }, 'LATCHKEY_REFRESH_REUSE_GRACE', 'between 0 and 300'],
    [{ LATCHKEY_AUTHORIZATIONS_PER_MINUTE: '0' }, 'LATCHKEY_AUTHORIZATIONS_PER_MINUTE', 'between 1 and 1000000'],
    [{ LATCHKEY_AUTHORIZATIONS_PER_MINUTE: '2/s' }, 'LATCHKEY_AUTHORIZATIONS_PER_MINUTE', 'not a whole number'],
  ])('%o is refused, naming %s', (env, variable, fragment) => {
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe('config_invalid');
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(fragment);
    expect(error.message).not.toContain('\n');
  });

  it('reads the key rotation settings; 0 turns scheduled rotation off and publishes keys without delay', () => {
    const env = { LATCHKEY_KEY_ACTIVATION_DELAY: '0', LATCHKEY_KEY_ROTATION_DAYS: '90', LATCHKEY_KEY_WATCH_INTERVAL: '1' };
    expect(loadConfig(env).keys).toEqual({ activationDelay: 0, rotationDays: 90, watchInterval: 1 });
  });

  it('bounds password checks: 2 at once and 32 waiting unless set; a queue of 0 refuses whatever cannot start', () => {
    expect(loadConfig({}).passwordHashing).toMatchObject({ concurrency: 2, queue: 32 });
    const env = { LATCHKEY_PASSWORD_HASH_CONCURRENCY: '4', LATCHKEY_PASSWORD_HASH_QUEUE: '0' };
    expect(loadConfig(env).passwordHashing).toMatchObject({ concurrency: 4, queue: 0 });
  });

  it('answers a retried refresh inside 5 seconds unless set; 0 turns the grace off', () => {
    expect(loadConfig({}).refreshReuseGrace).toBe(5);
    expect(loadConfig({ LATCHKEY_REFRESH_REUSE_GRACE: '0' }).refreshReuseGrace).toBe(0);
    expect(loadConfig({ LATCHKEY_REFRESH_REUSE_GRACE: '300' }).refreshReuseGrace).toBe(300);
  });

  it('requires PAR of every client only when LATCHKEY_REQUIRE_PAR is true', () => {
    expect(loadConfig({}).requirePar).toBe(false);
    expect(loadConfig({ LATCHKEY_REQUIRE_PAR: 'true' }).requirePar).toBe(true);
    expect(loadConfig({ LATCHKEY_REQUIRE_PAR: 'false' }).requirePar).toBe(false);
  });

  it('serves dynamic registration only when LATCHKEY_REGISTRATION asks for it', () => {
    expect(loadConfig({}).registration).toBe('off');
    expect(loadConfig({ LATCHKEY_REGISTRATION: 'initial-access-token' }).registration).toBe('initial-access-token');
    expect(loadConfig({ LATCHKEY_REGISTRATION: 'open' }).registration).toBe('open');
  });

  it('lets one address make 120 authorization requests a minute unless set', () => {
    expect(loadConfig({}).authorizationsPerMinute).toBe(120);
    expect(loadConfig({ LATCHKEY_AUTHORIZATIONS_PER_MINUTE: '10' }).authorizationsPerMinute).toBe(10);
  });

  it('keeps audit events 90 days unless set; 0 keeps them forever', () => {
    expect(loadConfig({}).auditRetentionDays).toBe(90);
    expect(loadConfig({ LATCHKEY_AUDIT_RETENTION_DAYS: '0' }).auditRetentionDays).toBe(0);
    expect(loadConfig({ LATCHKEY_AUDIT_RETENTION_DAYS: '400' }).auditRetentionDays).toBe(400);
  });

  it("hashes passwords with argon2id at OWASP's 7 MiB × 5 passes unless set, and takes any of its other minimums or more", () => {
    expect(loadConfig({}).passwordHashing.argon2).toEqual({ memoryCost: 7168, timeCost: 5, parallelism: 1 });
    for (const [memory, passes] of [['47104', '1'], ['19456', '2'], ['12288', '3'], ['9216', '4'], ['65536', '3']] as const) {
      const env = { LATCHKEY_ARGON2_MEMORY_KIB: memory, LATCHKEY_ARGON2_PASSES: passes, LATCHKEY_ARGON2_PARALLELISM: '2' };
      expect(loadConfig(env).passwordHashing.argon2).toEqual({ memoryCost: Number(memory), timeCost: Number(passes), parallelism: 2 });
    }
  });

  it('allows http issuers on loopback in production', () => {
    for (const issuer of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']) {
      expect(loadConfig({ NODE_ENV: 'production', ISSUER: issuer, LATCHKEY_SECRET: SECRET }).issuer).toBe(issuer);
    }
  });
});

describe('loading the configuration', () => {
  // In a fresh process, so nothing another test imported counts. Node's CommonJS
  // cache lists every package file (and native addon) loaded, ESM importers included.
  const loadsArgon2 = (module: string) => {
    const probe = `const { default: Module } = await import('node:module'); await import(${JSON.stringify(new URL(module, import.meta.url).href)}); process.stdout.write(String(Object.keys(Module._cache).some((file) => file.includes('argon2'))));`;
    return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
  };

  it('validates the argon2 parameters without loading argon2', () => {
    expect(loadsArgon2('../../src/config/config.ts')).toBe('false');
    // The probe sees argon2 where it is loaded: the hasher.
    expect(loadsArgon2('../../src/accounts/password-hasher.ts')).toBe('true');
  });
});
