// Reads Latchkey's configuration from the environment once, validates every
// value, and returns a frozen object. Nothing else in Latchkey reads
// process.env: everything is passed this object (or a part of it).
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { MASTER_SECRET_ADVICE, masterSecretProblem } from './master-secret-rule.ts';
import { DEFAULT_PASSWORD_HASH_PARAMS, meetsOwaspMinimum, OWASP_ARGON2ID_MINIMUMS, type PasswordHashParams } from '../accounts/password-hash-params.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseConfig {
  readonly dialect: Dialect;
  /** The URL as given (for PostgreSQL) or `file:<absolute path>` for SQLite. */
  readonly url: string;
  /** SQLite only: absolute path of the database file, or ':memory:'. */
  readonly sqlitePath?: string;
}

export interface TtlConfig {
  /** Seconds. Default lifetime of JWT access tokens (a resource may set its own). */
  readonly accessToken: number;
  readonly clientCredentials: number;
  readonly idToken: number;
  readonly refreshToken: number;
  readonly authorizationCode: number;
  readonly session: number;
  readonly interaction: number;
  readonly grant: number;
  /** How long a device flow's device and user codes live (RFC 8628 expires_in). */
  readonly deviceCode: number;
}

export interface Config {
  readonly env: 'production' | 'development' | 'test';
  readonly port: number;
  readonly host: string;
  readonly issuer: string;
  readonly database: DatabaseConfig;
  /** Where the embedded defaults live: the SQLite file and the generated master secret. */
  readonly dataDir: string;
  /** LATCHKEY_SECRET, or null when unset (then the embedded default generates one in dataDir). */
  readonly masterSecret: string | null;
  readonly ttl: TtlConfig;
  /** Seconds after a refresh token's use in which presenting it again (a retry) returns the same successor; 0 = never. */
  readonly refreshReuseGrace: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Behind a reverse proxy: take client IPs and https from X-Forwarded-* (only then). */
  readonly trustProxy: boolean;
  /** Bearer token that unlocks GET /metrics; null keeps /metrics off. */
  readonly metricsToken: string | null;
  /** Milliseconds between checks for changed clients and resources (cached in process). */
  readonly registryWatchIntervalMs: number;
  /** Days audit events are kept in the database; 0 keeps them forever. */
  readonly auditRetentionDays: number;
  readonly keys: KeyRotationConfig;
  readonly passwordHashing: PasswordHashingConfig;
  /** Authorization requests (/auth) one client address may make at once, and per minute after that, per instance. */
  readonly authorizationsPerMinute: number;
  readonly mail: MailConfig;
  readonly selfService: SelfServiceConfig;
  /**
   * LATCHKEY_MFA: 'optional' asks for a second factor when the account has
   * one, or the client asks for it (acr_values, --require-mfa); 'required'
   * asks every sign-in for one.
   */
  readonly mfa: 'optional' | 'required';
  /**
   * LATCHKEY_REQUIRE_PAR: every authorization request must come through a
   * pushed authorization request (RFC 9126 require_pushed_authorization_requests,
   * server-wide); otherwise only clients registered with --require-par.
   */
  readonly requirePar: boolean;
  /**
   * LATCHKEY_REGISTRATION: dynamic client registration (RFC 7591/7592) at
   * /reg. 'off' (no endpoint), 'initial-access-token' (only with a token made
   * by `latchkey registration token create`) or 'open' (anyone).
   */
  readonly registration: RegistrationMode;
}

export type RegistrationMode = 'off' | 'initial-access-token' | 'open';

/** What people may do for themselves, through mail (src/self-service/). */
export interface SelfServiceConfig {
  /** LATCHKEY_SIGNUP: 'open' lets anyone create an account from the login page; 'off' leaves it to operators (`latchkey user create`/`invite`). */
  readonly signup: 'off' | 'open';
  /** LATCHKEY_PASSWORD_RESET: a "Forgot password?" link on the login page that mails a reset link. */
  readonly passwordReset: boolean;
}

export interface MailConfig {
  /**
   * LATCHKEY_SMTP_URL as given (smtp:// or smtps://, credentials included),
   * or null: then mail goes to a file outbox in dataDir (outside production).
   * It holds the SMTP password: hand it to the transport, never to a log.
   */
  readonly smtpUrl: string | null;
  /** The From header: `Name <address>` or a bare address. */
  readonly from: string;
}

export interface PasswordHashingConfig {
  /** argon2id parameters for new hashes (and the bar below which a stored one is re-made at sign-in). */
  readonly argon2: PasswordHashParams;
  /** Password checks (argon2) running at once, per instance. */
  readonly concurrency: number;
  /** Sign-ins waiting for a check at most; the next one is told the server is busy. */
  readonly queue: number;
}

export interface KeyRotationConfig {
  /** Seconds a rotated-in key is published before it signs, so verifier caches learn it first. */
  readonly activationDelay: number;
  /** Rotate each algorithm's key automatically once it is this many days old; 0 = never. */
  readonly rotationDays: number;
  /** Seconds between two checks of the key set, by which every instance picks up a rotation. */
  readonly watchInterval: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_TTL: TtlConfig = {
  accessToken: 900,
  clientCredentials: 900,
  idToken: 3600,
  refreshToken: 14 * 24 * 3600,
  authorizationCode: 60,
  session: 14 * 24 * 3600,
  interaction: 600,
  grant: 14 * 24 * 3600,
  deviceCode: 600,
};

const TTL_VARIABLES: Record<keyof TtlConfig, string> = {
  accessToken: 'LATCHKEY_ACCESS_TOKEN_TTL',
  clientCredentials: 'LATCHKEY_CLIENT_CREDENTIALS_TTL',
  idToken: 'LATCHKEY_ID_TOKEN_TTL',
  refreshToken: 'LATCHKEY_REFRESH_TOKEN_TTL',
  authorizationCode: 'LATCHKEY_AUTHORIZATION_CODE_TTL',
  session: 'LATCHKEY_SESSION_TTL',
  interaction: 'LATCHKEY_INTERACTION_TTL',
  grant: 'LATCHKEY_GRANT_TTL',
  deviceCode: 'LATCHKEY_DEVICE_CODE_TTL',
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Parses and validates the environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const mode = parseEnum(env, 'NODE_ENV', ['production', 'development', 'test'] as const, 'development');
  const port = parseInteger(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST?.trim() || '0.0.0.0';
  const dataDir = path.resolve(cwd, env.LATCHKEY_DATA_DIR?.trim() || 'data');
  const issuer = parseIssuer(env.ISSUER, port, mode);
  const database = parseDatabaseUrl(env.DATABASE_URL, cwd, dataDir);
  const masterSecret = parseMasterSecret(env.LATCHKEY_SECRET, mode);

  const ttl = Object.fromEntries(
    (Object.keys(DEFAULT_TTL) as (keyof TtlConfig)[]).map((key) => [
      key,
      parseInteger(env, TTL_VARIABLES[key], DEFAULT_TTL[key], 1, 366 * 24 * 3600),
    ]),
  ) as unknown as TtlConfig;

  // Long enough for a client to retry a refresh whose answer it lost; short,
  // because inside it a stolen copy of the token is answered too.
  const refreshReuseGrace = parseInteger(env, 'LATCHKEY_REFRESH_REUSE_GRACE', 5, 0, 300);

  const logLevel = parseEnum(env, 'LOG_LEVEL', LOG_LEVELS, mode === 'test' ? 'warn' : 'info');
  const trustProxy = parseBoolean(env, 'LATCHKEY_TRUST_PROXY', false);
  const metricsToken = env.LATCHKEY_METRICS_TOKEN?.trim() || null;
  const registryWatchIntervalMs = parseInteger(env, 'LATCHKEY_REGISTRY_WATCH_INTERVAL_MS', 1000, 100, 60_000);
  // Every token issued is an event: without a bound the table grows with traffic forever.
  const auditRetentionDays = parseInteger(env, 'LATCHKEY_AUDIT_RETENTION_DAYS', 90, 0, 36_500);
  if (metricsToken !== null && metricsToken.length < 16) {
    throw new ConfigError('LATCHKEY_METRICS_TOKEN', 'must be at least 16 characters long');
  }
  const keys: KeyRotationConfig = {
    // An hour: well past the 10-minute JWKS caches of jose and @latchkey/verify,
    // with room for an HTTP cache in front of /jwks, and short enough that a
    // rotation by hand takes effect the same hour.
    activationDelay: parseInteger(env, 'LATCHKEY_KEY_ACTIVATION_DELAY', 3600, 0, 30 * 24 * 3600),
    rotationDays: parseInteger(env, 'LATCHKEY_KEY_ROTATION_DAYS', 0, 0, 3650),
    watchInterval: parseInteger(env, 'LATCHKEY_KEY_WATCH_INTERVAL', 5, 1, 3600),
  };

  const argon2 = {
    memoryCost: parseInteger(env, 'LATCHKEY_ARGON2_MEMORY_KIB', DEFAULT_PASSWORD_HASH_PARAMS.memoryCost, 1024, 4 * 1024 * 1024),
    timeCost: parseInteger(env, 'LATCHKEY_ARGON2_PASSES', DEFAULT_PASSWORD_HASH_PARAMS.timeCost, 1, 100),
    parallelism: parseInteger(env, 'LATCHKEY_ARGON2_PARALLELISM', DEFAULT_PASSWORD_HASH_PARAMS.parallelism, 1, 16),
  };
  if (!meetsOwaspMinimum(argon2)) {
    const minimums = OWASP_ARGON2ID_MINIMUMS.map((minimum) => `${minimum.memoryCost} KiB × ${minimum.timeCost}`).join(', ');
    throw new ConfigError('LATCHKEY_ARGON2_MEMORY_KIB', `${argon2.memoryCost} KiB × ${argon2.timeCost} passes (LATCHKEY_ARGON2_PASSES) is below OWASP's minimum for argon2id; use at least one of ${minimums}`);
  }
  const passwordHashing: PasswordHashingConfig = {
    argon2,
    // argon2 runs on libuv's thread pool (4 threads by default), which token
    // signing needs too: two checks at a time leave it half the pool.
    concurrency: parseInteger(env, 'LATCHKEY_PASSWORD_HASH_CONCURRENCY', 2, 1, 64),
    // 32 waiting at ~8 ms a check (the default parameters) on two threads: well under a second.
    queue: parseInteger(env, 'LATCHKEY_PASSWORD_HASH_QUEUE', 32, 0, 10_000),
  };

  // Each /auth stores an interaction before anyone signs in: bounded per address.
  // Two a second on average is far beyond one person, and leaves room for an office behind one NAT.
  const authorizationsPerMinute = parseInteger(env, 'LATCHKEY_AUTHORIZATIONS_PER_MINUTE', 120, 1, 1_000_000);

  const mail: MailConfig = {
    smtpUrl: parseSmtpUrl(env.LATCHKEY_SMTP_URL),
    from: parseMailFrom(env.LATCHKEY_MAIL_FROM, issuer),
  };

  const selfService: SelfServiceConfig = {
    // Off unless asked for: an open sign-up is a decision, not a default.
    signup: parseEnum(env, 'LATCHKEY_SIGNUP', ['off', 'open'] as const, 'off'),
    // On: people forget passwords, and an operator resetting each by hand learns them.
    passwordReset: parseBoolean(env, 'LATCHKEY_PASSWORD_RESET', true),
  };

  const mfa = parseEnum(env, 'LATCHKEY_MFA', ['optional', 'required'] as const, 'optional');
  // Off: PAR is served to every client, and required of those registered with --require-par.
  const requirePar = parseBoolean(env, 'LATCHKEY_REQUIRE_PAR', false);
  // Off: letting strangers register clients is a decision, not a default.
  const registration = parseEnum(env, 'LATCHKEY_REGISTRATION', ['off', 'initial-access-token', 'open'] as const, 'off');
  return deepFreeze({ env: mode, port, host, issuer, database, dataDir, masterSecret, ttl, refreshReuseGrace, logLevel, trustProxy, metricsToken, registryWatchIntervalMs, auditRetentionDays, keys, passwordHashing, authorizationsPerMinute, mail, selfService, mfa, requirePar, registration });
}

/**
 * The features that send mail to people who asked for nothing else (a
 * sign-up link, a reset link) need a real mail server in production: a file
 * outbox there would swallow every mail unseen. Throws the one-line
 * ConfigError naming LATCHKEY_SMTP_URL when such a feature is on without it.
 */
export function requireSmtpForAccountMail(config: Pick<Config, 'env' | 'mail'>, features: { readonly signup: boolean; readonly passwordReset: boolean }): void {
  if (config.env !== 'production' || config.mail.smtpUrl !== null) return;
  if (!features.signup && !features.passwordReset) return;
  const needing = [features.signup && 'sign-up', features.passwordReset && 'password reset'].filter(Boolean).join(' and ');
  throw new ConfigError('LATCHKEY_SMTP_URL', `is required when NODE_ENV=production and ${needing} is on (smtp://user:password@host:587 or smtps://user:password@host:465), or set LATCHKEY_SIGNUP=off and LATCHKEY_PASSWORD_RESET=off`);
}

// Never echoes the value: it may carry the SMTP password.
function parseSmtpUrl(raw: string | undefined): string | null {
  const value = raw?.trim();
  if (!value) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('LATCHKEY_SMTP_URL', 'is not a URL (smtp://user:password@host:587 or smtps://user:password@host:465)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError('LATCHKEY_SMTP_URL', 'must start with smtp:// (STARTTLS when the server offers it) or smtps:// (TLS from the first byte)');
  }
  if (!url.hostname) throw new ConfigError('LATCHKEY_SMTP_URL', 'needs a host (smtp://user:password@host:587)');
  if (url.password && !url.username) throw new ConfigError('LATCHKEY_SMTP_URL', 'has a password but no user name');
  return value;
}

/** `Name <local@domain>` or `local@domain`: one address, no line breaks (a header). */
const MAIL_ADDRESS = /^[^\s@<>"(),;:\\[\]]+@[^\s@<>"(),;:\\]+$/;

function parseMailFrom(raw: string | undefined, issuer: string): string {
  const value = raw?.trim();
  if (!value) return `Latchkey <no-reply@${new URL(issuer).hostname}>`;
  if (/[\r\n]/.test(value)) throw new ConfigError('LATCHKEY_MAIL_FROM', 'must be on one line');
  const named = /^([^<>"]*)<([^<>]+)>$/.exec(value);
  const address = named ? named[2]!.trim() : value;
  if (!MAIL_ADDRESS.test(address)) {
    throw new ConfigError('LATCHKEY_MAIL_FROM', `"${value}" is not a mail address (no-reply@example.com, or Example <no-reply@example.com>)`);
  }
  return value;
}

function parseIssuer(raw: string | undefined, port: number, mode: Config['env']): string {
  const value = raw?.trim() || `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('ISSUER', `"${value}" is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('ISSUER', 'must be an http or https URL');
  }
  if (url.search || url.hash) {
    throw new ConfigError('ISSUER', 'must not have a query or fragment');
  }
  if (url.username || url.password) {
    throw new ConfigError('ISSUER', 'must not contain credentials');
  }
  if (mode === 'production' && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError('ISSUER', 'must use https in production (http is allowed only for loopback hosts)');
  }
  // oidc-provider compares the issuer as a string: keep it without a trailing slash.
  return url.href.replace(/\/$/, '');
}

function parseDatabaseUrl(raw: string | undefined, cwd: string, dataDir: string): DatabaseConfig {
  const value = raw?.trim();
  if (!value) {
    const sqlitePath = path.join(dataDir, 'latchkey.db');
    return { dialect: 'sqlite', url: `file:${sqlitePath}`, sqlitePath };
  }
  if (value.startsWith('file:')) {
    const file = value.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw new ConfigError('DATABASE_URL', 'a file: URL needs a path, e.g. file:./data/latchkey.db');
    const sqlitePath = file === ':memory:' ? file : path.resolve(cwd, file);
    return { dialect: 'sqlite', url: `file:${sqlitePath}`, sqlitePath };
  }
  if (value.startsWith('postgres://') || value.startsWith('postgresql://')) {
    try {
      const url = new URL(value);
      if (!url.hostname && !url.searchParams.get('host')) throw new Error('no host');
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid PostgreSQL URL (postgresql://user:password@host:5432/database)');
    }
    return { dialect: 'postgres', url: value };
  }
  throw new ConfigError('DATABASE_URL', 'must start with file: (SQLite) or postgresql:// (PostgreSQL)');
}

function parseMasterSecret(raw: string | undefined, mode: Config['env']): string | null {
  const value = raw?.trim();
  if (!value) {
    if (mode === 'production') {
      throw new ConfigError('LATCHKEY_SECRET', 'is required when NODE_ENV=production (at least 32 random bytes, hex- or base64-encoded: `latchkey secret generate`)');
    }
    return null;
  }
  const problem = masterSecretProblem(value);
  if (problem) throw new ConfigError('LATCHKEY_SECRET', `${problem}; ${MASTER_SECRET_ADVICE}`);
  return value;
}

function parseInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}`);
  return value;
}

function parseBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `"${raw}" is not true or false`);
}

function parseEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `"${raw}" is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}
