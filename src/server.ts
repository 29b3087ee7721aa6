// Runs a Latchkey: migrate, open the database, compose it (latchkey.ts),
// listen; and stop it in the reverse order: drain the requests in flight,
// stop the background tasks, flush the audit buffer, close the database.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/config.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrator.ts';
import { createLatchkey, type Latchkey, type LatchkeyOptions } from './latchkey.ts';
import type { Log } from './log.ts';

export interface RunningLatchkey {
  /** A URL that reaches the listener from this machine (not necessarily the issuer, behind a proxy). */
  readonly url: string;
  /** The address and port the listener is bound to, as `host:port`. */
  readonly listening: string;
  readonly server: http.Server;
  /** Stops accepting, lets in-flight requests finish (bounded), closes the database. */
  stop(): Promise<void>;
}

export interface StartOptions extends LatchkeyOptions {
  readonly config: Config;
  readonly log: Log;
  /** How long stop() waits for in-flight requests before cutting connections. */
  readonly drainMs?: number;
}

export async function startLatchkey({ config, log, drainMs = 6000, ...options }: StartOptions): Promise<RunningLatchkey> {
  const { applied } = await migrate(config.database);
  if (applied.length) log.info({ applied }, 'applied database migrations');

  const db = await openDatabase(config.database);
  let latchkey: Latchkey | undefined;
  try {
    latchkey = await createLatchkey(config, db, log, options);
    const server = http.createServer(latchkey.app.callback());
    // Slow-loris and idle connections cannot pin the process open.
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;

    const { tasks, flushAudit } = latchkey;
    let stopping: Promise<void> | undefined;
    return {
      url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
      listening: `${config.host}:${port}`,
      server,
      stop: () =>
        (stopping ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          const timer = setTimeout(() => server.closeAllConnections(), drainMs);
          await closed;
          clearTimeout(timer);
          for (const task of tasks) await task.stop();
          // After the last request: the events it recorded are in the buffer, written now.
          await flushAudit();
          await db.close();
        })()),
    };
  } catch (error) {
    // Started but not listening (the port taken, say): nothing may outlive the database.
    for (const task of latchkey?.tasks ?? []) await task.stop().catch(() => {});
    await latchkey?.flushAudit().catch(() => {});
    await db.close().catch(() => {});
    throw error;
  }
}
