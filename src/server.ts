// Composes a running Latchkey from its configuration, in the direction data
// flows: database (migrated) → keys → services → oidc-provider → Koa app →
// HTTP listener. The one place where dependencies are wired together; the
// CLI composes the same services through src/services.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdapterFactory } from 'oidc-provider';
import { createApp } from './app.ts';
import { SCHEDULE_ACTOR } from './audit/audit-event.ts';
import { createInteractionAudit } from './audit/interaction-audit.ts';
import { auditProviderEvents } from './audit/provider-audit.ts';
import type { Config } from './config/config.ts';
import { openDatabase } from './db/database.ts';
import { migrate, pendingMigrations } from './db/migrator.ts';
import { createMetrics } from './http/metrics.ts';
import { createViews } from './http/views.ts';
import { createInteractionRoutes } from './interactions/interaction-routes.ts';
import { createKeyRepository } from './keys/key-repository.ts';
import { createKeyRotationService, rotationPolicy } from './keys/key-rotation.ts';
import { createKeyService } from './keys/key-service.ts';
import { startKeySetWatcher } from './keys/key-set-watcher.ts';
import { resolveMasterSecret } from './keys/master-secret.ts';
import { createSealer } from './keys/sealing.ts';
import type { Log } from './log.ts';
import { createAdapterFactory } from './oidc/adapter.ts';
import { startArtifactPurger } from './oidc/artifact-purger.ts';
import { createArtifactRepository } from './oidc/artifact-repository.ts';
import { createRefreshRetries } from './oidc/refresh-retries.ts';
import { redeemGrantsOnce } from './oidc/single-use-grants.ts';
import { providerClientSource } from './oidc/client-metadata.ts';
import { createRegistryCache } from './oidc/registry-cache.ts';
import { createJwtAccessTokens } from './oidc/jwt-access-tokens.ts';
import { createJwtIntrospection } from './oidc/jwt-introspection.ts';
import { createJwtRevocation } from './oidc/jwt-revocation.ts';
import { createProvider } from './oidc/provider.ts';
import { createProviderHolder } from './oidc/provider-holder.ts';
import { createRevokedAccessTokens } from './oidc/revoked-access-tokens.ts';
import { answerStructuredTokens } from './oidc/structured-token-fallback.ts';
import { createServices } from './services.ts';
import { throttleAuthorizationRequests } from './throttle/authorization-throttle.ts';
import { createConcurrencyLimit } from './throttle/concurrency-limit.ts';
import { createDeviceCookies } from './throttle/device-cookie.ts';
import { createLoginGuard } from './throttle/login-guard.ts';
import { createRateLimit } from './throttle/rate-limit.ts';
import { createThrottleKeys } from './throttle/throttle-keys.ts';
import { createThrottleRepository } from './throttle/throttle-repository.ts';
import { createThrottleService } from './throttle/throttle-service.ts';

export interface RunningLatchkey {
  /** Where the listener is bound (not necessarily the issuer, behind a proxy). */
  readonly url: string;
  readonly server: http.Server;
  /** Stops accepting, lets in-flight requests finish (bounded), closes the database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly config: Config;
  readonly log: Log;
  /** How long stop() waits for in-flight requests before cutting connections. */
  readonly drainMs?: number;
  /** Wraps the storage adapter factory before oidc-provider gets it (tests check every write: test/helpers/checked-adapter.ts). */
  readonly wrapAdapter?: (factory: AdapterFactory) => AdapterFactory;
}

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

export async function startLatchkey({ config, log, drainMs = 6000, wrapAdapter = (factory) => factory }: StartOptions): Promise<RunningLatchkey> {
  const { applied } = await migrate(config.database);
  if (applied.length) log.info({ applied }, 'applied database migrations');

  const db = await openDatabase(config.database);
  try {
    const masterSecret = resolveMasterSecret(config, { info: (msg) => log.info(msg) });
    const keyRepository = createKeyRepository(db.prisma, db.dialect);
    const sealer = createSealer(masterSecret);
    const keys = createKeyService({ keys: keyRepository, sealer });
    await keys.ensureKeys();
    // Read before the keys are (re)loaded, so a change made in between is seen by the watcher's first check.
    const initialKeySet = await keyRepository.listKeyTimelines();
    await keys.reload();

    const services = createServices({ config, db, log });
    const artifacts = createArtifactRepository(db);
    const views = createViews();
    const cookieKeys = await keys.cookieKeys();
    const metrics = createMetrics();
    // Brute-force back-off, counted in the database so every instance sees every failure.
    const throttle = createThrottleService({ repository: createThrottleRepository(db) });
    const throttleKeys = createThrottleKeys(masterSecret);
    const registry = await createRegistryCache({
      clients: { findProviderMetadata: providerClientSource(services.clients).findProviderMetadata, changeMarker: () => services.clients.changeMarker() },
      resources: services.resources,
      watchIntervalMs: config.registryWatchIntervalMs,
      onError: (error) => log.warn({ err: error }, 'checking clients and resources for changes failed'),
    });
    const retries = createRefreshRetries({ artifacts, graceSeconds: config.refreshReuseGrace });
    const adapter = wrapAdapter(createAdapterFactory({ artifacts, clients: registry.clients, sealForPredecessor: retries.sealForPredecessor }));
    const revokedAccessTokens = createRevokedAccessTokens({ artifacts });
    const jwtAccessTokens = createJwtAccessTokens({ issuer: config.issuer, publicJwks: () => keys.publicJwks(), revoked: revokedAccessTokens, accounts: services.accounts });
    // oidc-provider reads its keys only at construction, so a change of the key
    // set builds a new instance with everything else the same (provider-holder.ts).
    const buildProvider = async () => {
      const provider = createProvider({
        config,
        adapter,
        clients: registry.clients,
        jwks: await keys.signingJwks(),
        cookieKeys,
        resources: registry.resources,
        accounts: services.accounts,
        views,
        clientAuthThrottle: { throttle, keys: throttleKeys, onThrottled: (scope) => metrics.throttled.inc({ scope }) },
        rotatesRefreshToken: retries.rotates,
      });
      redeemGrantsOnce(provider, { retries });
      provider.on('server_error', (_ctx, error) => log.error({ err: error }, 'oidc-provider server error'));
      metrics.observe(provider);
      auditProviderEvents(provider, services.audit);
      // A client that misses its logout token keeps its session: worth a warning, not a failed sign-out.
      provider.on('backchannel.error', (_ctx, error, client) => log.warn({ err: error, clientId: client.clientId }, 'back-channel logout failed'));
      answerStructuredTokens(provider, {
        introspection: createJwtIntrospection(jwtAccessTokens),
        revocation: createJwtRevocation(jwtAccessTokens, revokedAccessTokens),
      });
      return provider;
    };
    const providers = createProviderHolder(await buildProvider());
    // The interaction pages keep the first instance: they only read and write
    // artifacts and cookies (same database, same cookie keys), never sign.
    const provider = providers.current;

    let migrationsApplied = false;
    const app = createApp({
      metrics,
      config,
      log,
      views,
      provider: providers,
      routes: [
        throttleAuthorizationRequests({
          path: provider.pathFor('authorization'),
          limit: createRateLimit({ perMinute: config.authorizationsPerMinute }),
          views,
          onThrottled: () => metrics.throttled.inc({ scope: 'authorization_ip' }),
        }),
        createInteractionRoutes({
          provider,
          accounts: services.accounts,
          views,
          cookieKeys,
          audit: createInteractionAudit({ audit: services.audit, accounts: services.accounts, masterSecret }),
          guard: createLoginGuard({ accounts: services.accounts, throttle, keys: throttleKeys, hashing: createConcurrencyLimit(config.passwordHashing) }),
          devices: createDeviceCookies({ secure: config.issuer.startsWith('https:') }),
          metrics,
          grantTtl: config.ttl.grant,
        }),
      ],
      readiness: async () => {
        const checks = { database: false, migrations: false, keys: false };
        try {
          await db.prisma.$queryRawUnsafe('SELECT 1');
          checks.database = true;
          // Opening a second connection per probe only to re-read the ledger is
          // wasteful; once every known migration is applied it stays applied.
          migrationsApplied ||= (await pendingMigrations(config.database)).length === 0;
          checks.migrations = migrationsApplied;
          checks.keys = (await keys.signingJwks()).keys.length > 0;
        } catch (error) {
          log.warn({ err: error }, 'readiness check failed');
        }
        return { ready: checks.database && checks.migrations && checks.keys, checks };
      },
    });

    const server = http.createServer(app.callback());
    // Slow-loris and idle connections cannot pin the process open.
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const rotation = createKeyRotationService({ keys: keyRepository, sealer, policy: rotationPolicy(config) });
    const keyWatcher = startKeySetWatcher({
      listKeyTimelines: () => keyRepository.listKeyTimelines(),
      initial: initialKeySet,
      intervalMs: config.keys.watchInterval * 1000,
      ...(config.keys.rotationDays > 0
        ? {
            async maintain(current, at) {
              if (!rotation.maintenanceDue(current, at)) return false;
              const { rotated, retired } = await rotation.runMaintenance();
              if (rotated.length || retired.length) {
                log.info({ rotated: rotated.map((key) => key.kid), retired: retired.map((key) => key.kid) }, 'scheduled key rotation');
              }
              for (const key of rotated) services.audit.record({ type: 'key.rotated', actor: SCHEDULE_ACTOR, subject: key.kid, details: { alg: key.alg } });
              for (const key of retired) services.audit.record({ type: 'key.retired', actor: SCHEDULE_ACTOR, subject: key.kid, details: { alg: key.alg, forced: false } });
              return rotated.length > 0 || retired.length > 0;
            },
          }
        : {}),
      async onChange() {
        await keys.reload();
        providers.swap(await buildProvider());
        const signing = (await keys.signingJwks()).keys.map((key) => ({ alg: key.alg, kid: key.kid }));
        log.info({ keys: signing }, 'key set changed; serving with the new keys');
      },
      onError: (error) => log.warn({ err: error }, 'checking the key set for changes failed'),
    });
    const purger = startArtifactPurger({
      artifacts,
      intervalMs: PURGE_INTERVAL_MS,
      onError: (error) => log.warn({ err: error }, 'purging expired artifacts failed'),
    });
    // The same scheduler, pointed at throttle keys idle past every policy's memory.
    const throttlePurger = startArtifactPurger({
      artifacts: { purgeExpired: (_before, limit) => throttle.purgeIdle(limit) },
      intervalMs: PURGE_INTERVAL_MS,
      onError: (error) => log.warn({ err: error }, 'purging idle throttle keys failed'),
    });
    // And at audit events past their retention (none when it is 0: kept forever).
    const auditPurger =
      config.auditRetentionDays > 0
        ? startArtifactPurger({
            artifacts: { purgeExpired: (_before, limit) => services.audit.purgeOlderThan(config.auditRetentionDays, limit) },
            intervalMs: PURGE_INTERVAL_MS,
            onError: (error) => log.warn({ err: error }, 'purging audit events past their retention failed'),
          })
        : undefined;

    let stopping: Promise<void> | undefined;
    return {
      url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
      server,
      stop: () =>
        (stopping ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          const timer = setTimeout(() => server.closeAllConnections(), drainMs);
          await closed;
          clearTimeout(timer);
          await keyWatcher.stop();
          await registry.stop();
          await purger.stop();
          await throttlePurger.stop();
          await auditPurger?.stop();
          // After the last request: the events it recorded are in the buffer, written now.
          await services.audit.stop();
          await db.close();
        })()),
    };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}
