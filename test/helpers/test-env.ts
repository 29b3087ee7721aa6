// The environment a Latchkey server needs to start in a test (or the bench):
// test mode on loopback, its issuer on the port given, a database, a data
// directory and a fresh master secret, quiet logs unless TEST_LOG_LEVEL says
// otherwise. One place, so every test starts its server the same way.
import { randomBytes } from 'node:crypto';

export interface TestEnvBase {
  /** The port to listen on; the issuer is http://127.0.0.1:<port> unless overridden. */
  readonly port: number;
  readonly databaseUrl: string;
  readonly dataDir: string;
}

/**
 * The variables loadConfig (or a spawned `src/main.ts`) reads. `overrides`
 * win; an override of `undefined` leaves that variable out (the server's
 * own default applies).
 */
export function testEnv({ port, databaseUrl, dataDir }: TestEnvBase, overrides: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    ISSUER: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    LATCHKEY_SECRET: randomBytes(32).toString('base64url'),
    LATCHKEY_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
