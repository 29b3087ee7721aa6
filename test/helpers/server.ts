// Starts a real Latchkey (the same startLatchkey as `npm start`) on an
// ephemeral loopback port against a fresh test database, with every storage
// write checked (checked-adapter.ts): stop() fails if one broke an invariant.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createLog } from '../../src/log.ts';
import type { LatchkeyOptions } from '../../src/latchkey.ts';
import { startLatchkey } from '../../src/server.ts';
import { createServices, type Services } from '../../src/services.ts';
import { createAdapterChecks } from './checked-adapter.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { freePort } from './free-port.ts';
import { testEnv } from './test-env.ts';

export interface TestServer {
  readonly issuer: string;
  readonly config: Config;
  readonly database: TestDatabase;
  /** The same services the CLI uses, on the server's database. */
  readonly services: Services;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Environment variables over testEnv()'s. */
  readonly env?: Record<string, string>;
  /** A database to share (not dropped by stop()); a fresh one otherwise. */
  readonly database?: TestDatabase;
  /** Where log lines go (a test that reads them); stdout otherwise. */
  readonly logTo?: DestinationStream;
  /**
   * The issuer's host name (listening on 127.0.0.1 all the same); default
   * 127.0.0.1. WebAuthn needs a domain: an IP address is no valid RP ID.
   */
  readonly issuerHost?: string;
  /** The back-channel logout sender's interval and retry schedule (latchkey.ts; tests shorten them). */
  readonly logoutSender?: LatchkeyOptions['logoutSender'];
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase());
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-data-'));
  const port = await freePort();
  const issuer = options.issuerHost ? { ISSUER: `http://${options.issuerHost}:${port}` } : {};
  const config = loadConfig(testEnv({ port, databaseUrl: database.url, dataDir }, { ...issuer, ...options.env }));
  const checks = createAdapterChecks(config.ttl);
  const latchkey = await startLatchkey({ config, log: createLog(config, options.logTo), drainMs: 1000, wrapAdapter: checks.wrap, ...(options.logoutSender && { logoutSender: options.logoutSender }) });
  return {
    issuer: config.issuer,
    config,
    database,
    services: createServices({ config, db: database.db }),
    async stop() {
      await latchkey.stop();
      if (!options.database) await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
      if (checks.violations.length) throw new Error(`storage invariants broken:\n${checks.violations.join('\n')}`);
    },
  };
}
