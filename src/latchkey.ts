// The composition root: wires a Latchkey from its configuration, an open
// (migrated) database and a log, in the direction data flows: keys →
// services → oidc-provider → Koa app, plus the background tasks. Each piece
// is built by its own factory; this only connects them. Listening and
// stopping are server.ts's; the CLI composes the same keys and services.
import type Koa from 'koa';
import type { AdapterFactory } from 'oidc-provider';
import { createAccountRoutes } from './account/account-routes.ts';
import { createAdminApi } from './admin/admin-api.ts';
import { createAdminApiClient } from './console/admin-api-client.ts';
import { createConsoleFormTokens } from './console/console-form-token.ts';
import { createConsoleRoutes } from './console/console-routes.ts';
import { createConsoleSession } from './console/console-session.ts';
import { createSealedCookies } from './console/sealed-cookies.ts';
import { createApp } from './app.ts';
import { createLogoutDelivery } from './backchannel/logout-delivery.ts';
import { createLogoutOutboxRepository } from './backchannel/logout-outbox-repository.ts';
import { startLogoutSender, type LogoutSenderLoopOptions } from './backchannel/logout-sender.ts';
import { createLogoutTokenSigner } from './backchannel/logout-token.ts';
import type { Config } from './config/config.ts';
import type { Database } from './db/database.ts';
import { pendingMigrations } from './db/migrator.ts';
import { throttleAuthorizationRequests } from './http/authorization-throttle.ts';
import { createReadinessCheck, onceTrue } from './http/health.ts';
import { createMetrics } from './http/metrics.ts';
import { createViews } from './http/views.ts';
import { createDeviceCookies } from './interactions/device-cookie.ts';
import { createInteractionAudit } from './interactions/interaction-audit.ts';
import { createPasskeySignInRoutes } from './interactions/passkey-sign-in.ts';
import { createPasskeySecondFactorRoutes } from './interactions/passkey-second-factor.ts';
import { createInteractionPages } from './interactions/interaction-page.ts';
import { createFormTokens } from './interactions/form-token.ts';
import { createInteractionRoutes } from './interactions/interaction-routes.ts';
import { createKeys } from './keys/create-keys.ts';
import { startKeySetWatcher } from './keys/key-set-watcher.ts';
import { scheduledRotation } from './keys/scheduled-rotation.ts';
import type { Log } from './log.ts';
import { createMail } from './mail/create-mail.ts';
import { createAdapterFactory } from './oidc/adapter.ts';
import { ACCOUNT_CLIENT_ID, accountClientMetadata } from './oidc/account-client.ts';
import { ADMIN_CLIENT_ID, adminClientMetadata } from './oidc/admin-client.ts';
import { createArtifactRepository } from './oidc/artifact-repository.ts';
import { providerClientSource } from './oidc/client-metadata.ts';
import { createProviderHolder } from './oidc/provider-holder.ts';
import { createRefreshRetries } from './oidc/refresh-retries.ts';
import { createRegistryCache } from './oidc/registry-cache.ts';
import { startPeriodic, type Periodic } from './periodic.ts';
import { createProviderBuilder } from './provider-builder.ts';
import { startPurgeTasks } from './purge-tasks.ts';
import { createVerificationRoutes } from './self-service/verification-routes.ts';
import type { SelfServiceDeps } from './self-service/self-service-deps.ts';
import { createForgotPassword } from './self-service/forgot-password.ts';
import { createResetRoutes } from './self-service/reset-routes.ts';
import { ADMIN_SCOPES, adminResourceIdentifier } from './resources/admin-resource.ts';
import { createServices } from './services.ts';
import { registrationRoutes } from './registration/registration-routes.ts';
import { REGISTRATIONS_PER_MINUTE, throttleRegistrations } from './registration/registration-throttle.ts';
import { createAccountLimits } from './throttle/account-limits.ts';
import { createConcurrencyLimit } from './throttle/concurrency-limit.ts';
import { createLoginGuard } from './throttle/login-guard.ts';
import { createRateLimit } from './throttle/rate-limit.ts';
import { createChallengeRepository } from './passkeys/challenge-repository.ts';
import { createWebAuthnCeremony } from './passkeys/webauthn-ceremony.ts';
import { createThrottleKeys } from './throttle/throttle-keys.ts';
import { createMfaRepository } from './mfa/mfa-repository.ts';
import { createMfaService } from './mfa/mfa-service.ts';
import { createTotpSealer } from './mfa/totp-sealer.ts';
import { createThrottleRepository } from './throttle/throttle-repository.ts';
import { createThrottleService } from './throttle/throttle-service.ts';
import { createFederatedSignIns } from './federation/federated-sign-ins.ts';
import { createFederationAudit } from './federation/federation-audit.ts';
import { createFederationCallback } from './federation/federation-callback.ts';
import { createFederationCookie } from './federation/federation-cookie.ts';
import { createFederationStates } from './federation/federation-states.ts';
import { createUpstreamClients } from './federation/upstream-clients.ts';
import { createLoginResults } from './interactions/login-result.ts';

export interface LatchkeyOptions {
  /**
   * Test-only: wraps the storage adapter factory before oidc-provider gets
   * it. The hook the tests use to assert invariants on every write (an
   * expiry matching the TTL asked for, no write after consumption).
   */
  readonly wrapAdapter?: (factory: AdapterFactory) => AdapterFactory;
  /** Test-only: the back-channel logout sender's interval and retry schedule (tests shorten them). */
  readonly logoutSender?: Pick<LogoutSenderLoopOptions, 'intervalMs' | 'schedule'>;
}

export interface Latchkey {
  /** The Koa app, ready for http.createServer(app.callback()). */
  readonly app: Koa;
  /** The background loops, already running; each stop() waits for a run in progress. */
  readonly tasks: readonly Periodic[];
  /** After the last request: lets the reset links it asked for be queued, then writes the audit events still buffered (bounded wait). */
  flushAudit(): Promise<void>;
}

export async function createLatchkey(config: Config, db: Database, log: Log, options: LatchkeyOptions = {}): Promise<Latchkey> {
  const keys = createKeys(config, db, { info: (message) => log.info(message) });
  await keys.service.ensureKeys();
  // Read before the keys are (re)loaded, so a change made in between is seen by the watcher's first check.
  const initialKeySet = await keys.repository.listKeyTimelines();
  await keys.service.reload();
  const cookieKeys = await keys.service.cookieKeys();

  // Started below, once the keys and registry it reads exist; services wake it when they queue a logout.
  let logoutSender: Periodic | undefined;
  const services = createServices({ config, db, log, onLogoutQueued: () => void logoutSender?.runNow(), masterSecret: () => keys.masterSecret });
  // The Admin API's own resource (<issuer>/admin and its scopes): created at the first start, idempotent after.
  await services.resources.ensure({ identifier: adminResourceIdentifier(config.issuer), scopes: ADMIN_SCOPES });
  const artifacts = createArtifactRepository(db);
  const views = createViews();
  const metrics = createMetrics();
  // Brute-force back-off, counted in the database so every instance sees every failure.
  const throttle = createThrottleService({ repository: createThrottleRepository(db) });
  const throttleKeys = createThrottleKeys(keys.masterSecret);
  const registry = await createRegistryCache({
    clients: { findProviderMetadata: providerClientSource(services.clients, { builtIn: { [ACCOUNT_CLIENT_ID]: accountClientMetadata(config.issuer), [ADMIN_CLIENT_ID]: adminClientMetadata(config.issuer) }, requirePar: config.requirePar }).findProviderMetadata, changeMarker: () => services.clients.changeMarker() },
    resources: services.resources,
  });
  const retries = createRefreshRetries({ artifacts, graceSeconds: config.refreshReuseGrace });
  const adapter = createAdapterFactory({ artifacts, clients: registry.clients, sealForPredecessor: retries.sealForPredecessor });
  // Which upstream a federated sign-in went through, kept as long as a token of it can be refreshed: the ID token's idp claim.
  const federatedSignIns = createFederatedSignIns({ artifacts, ttlSeconds: Math.max(config.ttl.refreshToken, config.ttl.session, config.ttl.grant) });
  const buildProvider = createProviderBuilder({
    config,
    log,
    adapter: options.wrapAdapter ? options.wrapAdapter(adapter) : adapter,
    artifacts,
    registry,
    keys: keys.service,
    cookieKeys,
    accounts: services.accounts,
    audit: services.audit,
    views,
    metrics,
    throttle,
    throttleKeys,
    retries,
    logoutNotices: services.logoutNotices,
    signInProvider: async (accountId, authTime) => (await federatedSignIns.find(accountId, authTime))?.name,
  });
  const providers = createProviderHolder(await buildProvider());
  // The interaction pages keep the first instance: they only read and write
  // artifacts and cookies (same database, same cookie keys), never sign.
  const provider = providers.current;

  // Before the app: the self-service pages queue mail through it.
  const mail = createMail({ config, db, log });
  const limits = createAccountLimits({ throttle, keys: throttleKeys });
  const accountSelfService: SelfServiceDeps = {
    accounts: services.accounts,
    accountTokens: services.accountTokens,
    limits,
    mail: mail.service,
    audit: services.audit,
    config: config.selfService,
    issuer: config.issuer,
  };
  const forgot = createForgotPassword({ accounts: services.accounts, accountTokens: services.accountTokens, limits, mail: mail.service, audit: services.audit, issuer: config.issuer, log });
  const reset = { accounts: services.accounts, accountTokens: services.accountTokens, limits, mail: mail.service, audit: services.audit };
  // One guard and one device cookie for every page that checks a password (sign-in, the account page).
  const guard = createLoginGuard({ accounts: services.accounts, throttle, keys: throttleKeys, hashing: createConcurrencyLimit(config.passwordHashing) });
  const devices = createDeviceCookies({ secure: config.issuer.startsWith('https:') });
  // Second factors: TOTP secrets sealed under their own key from the master secret, failures counted per account.
  const mfa = createMfaService({ repository: createMfaRepository(db), sealer: createTotpSealer(keys.masterSecret), throttle, keys: throttleKeys });
  // Passkeys: one ceremony (RP ID and origin from the issuer; challenges in the database) for the account page and the login page.
  const ceremony = createWebAuthnCeremony({ issuer: config.issuer, passkeys: services.passkeys, challenges: createChallengeRepository(db) });
  const interactionAudit = createInteractionAudit({ audit: services.audit, accounts: services.accounts, masterSecret: keys.masterSecret });
  const loginResults = createLoginResults(federatedSignIns);
  // Upstream identity providers (federation/): their clients (discovery cached per provider), the round trip's cookie, its audit.
  const federation = {
    issuer: config.issuer,
    clients: createUpstreamClients({ secretOf: (idp) => services.identityProviders.clientSecretOf(idp), allowLoopbackHttp: config.env !== 'production' }),
    cookie: createFederationCookie({ masterSecret: keys.masterSecret, secure: config.issuer.startsWith('https:') }),
    identityProviders: services.identityProviders,
    federatedIdentities: services.federatedIdentities,
    accounts: services.accounts,
    federationAudit: createFederationAudit({ events: services.audit }),
    // The round trip's state, used once (a conditional update in the artifact table).
    states: createFederationStates({ artifacts }),
    limits,
  };

  if (config.registration === 'open' && config.env === 'production') {
    // Anyone who reaches /reg can then make clients that show their own name on the consent page; only the per-address throttle bounds how many.
    log.warn({ registration: 'open' }, 'LATCHKEY_REGISTRATION=open in production: anyone can register a client (phishing-friendly names and redirect URIs on the consent page, rows bounded only per address); prefer initial-access-token');
  }
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
      // Before the interaction pages, which answer every other /interaction/ path.
      createPasskeySignInRoutes({
        pages: createInteractionPages(provider, views),
        formTokens: createFormTokens(cookieKeys),
        ceremony,
        passkeys: services.passkeys,
        accounts: services.accounts,
        throttle,
        keys: throttleKeys,
        audit: services.audit,
        loginAudit: interactionAudit,
        devices,
      }),
      createPasskeySecondFactorRoutes({
        pages: createInteractionPages(provider, views),
        formTokens: createFormTokens(cookieKeys),
        ceremony,
        passkeys: services.passkeys,
        accounts: services.accounts,
        throttle,
        keys: throttleKeys,
        audit: services.audit,
        loginAudit: interactionAudit,
        loginResults,
      }),
      // Where upstream identity providers send the browser back: /federation/<slug>/callback.
      createFederationCallback({ ...federation, provider, pages: createInteractionPages(provider, views) }),
      createInteractionRoutes({
        provider,
        accounts: services.accounts,
        views,
        cookieKeys,
        audit: interactionAudit,
        guard,
        devices,
        metrics,
        grantTtl: config.ttl.grant,
        selfService: config.selfService,
        accountSelfService,
        reset: { ...reset, forgot },
        mfa,
        mfaRecords: services.mfa,
        events: services.audit,
        mfaRequired: config.mfa === 'required',
        federation,
        loginResults,
      }),
      createVerificationRoutes({ ...accountSelfService, provider, views, cookieKeys }),
      createResetRoutes({ provider, views, cookieKeys, selfService: config.selfService, ...reset }),
      createAccountRoutes({
        provider,
        issuer: config.issuer,
        accounts: services.accounts,
        accountTokens: services.accountTokens,
        // The services' artifacts: ending the other sessions queues their back-channel logouts.
        artifacts: services.artifacts,
        federatedIdentities: services.federatedIdentities,
        passwordReset: config.selfService.passwordReset,
        views,
        cookieKeys,
        guard,
        devices,
        limits,
        mail: mail.service,
        audit: services.audit,
        mfa,
        mfaRecords: services.mfa,
        passkeys: services.passkeys,
        ceremony,
      }),
      // /admin/v1: a prefix check for every other request; built at its first request.
      createAdminApi({ config, log, services, keys, mail: mail.service }),
      // The admin console: signs in through latchkey-admin and calls /admin/v1 over HTTP with the person's token.
      createConsoleRoutes({
        issuer: config.issuer,
        views,
        session: createConsoleSession({
          issuer: config.issuer,
          authorizationPath: provider.pathFor('authorization'),
          tokenPath: provider.pathFor('token'),
          cookies: createSealedCookies({ masterSecret: keys.masterSecret, secure: config.issuer.startsWith('https:') }),
        }),
        api: createAdminApiClient({ baseUrl: config.issuer }),
        formTokens: createConsoleFormTokens(cookieKeys),
        endSessionPath: provider.pathFor('end_session'),
      }),
      // Dynamic client registration (RFC 7591/7592) at /reg, through the client service; not mounted when off.
      ...(config.registration === 'off'
        ? []
        : [
            throttleRegistrations({ limit: createRateLimit({ perMinute: REGISTRATIONS_PER_MINUTE }), onThrottled: () => metrics.throttled.inc({ scope: 'registration_ip' }) }),
            registrationRoutes({ mode: config.registration, issuer: config.issuer, clients: services.clients, tokens: services.registrationTokens, audit: services.audit }),
          ]),
    ],
    readiness: createReadinessCheck({
      probes: {
        async database() {
          await db.prisma.$queryRawUnsafe('SELECT 1');
          return true;
        },
        // Opening a second connection per probe only to re-read the ledger is
        // wasteful; once every known migration is applied it stays applied.
        migrations: onceTrue(async () => (await pendingMigrations(config.database)).length === 0),
        keys: async () => (await keys.service.signingJwks()).keys.length > 0,
      },
      onError: (error) => log.warn({ err: error }, 'readiness check failed'),
    }),
  });

  // Back-channel logouts (src/backchannel/): every instance delivers what any instance, or the CLI, queued.
  logoutSender = startLogoutSender({
    repository: createLogoutOutboxRepository(db),
    clients: services.clients,
    registeredDynamically: services.registrationTokens.isRegistered,
    signer: createLogoutTokenSigner({ issuer: config.issuer, signingJwks: () => keys.service.signingJwks() }),
    delivery: createLogoutDelivery(),
    audit: services.audit,
    log,
    ...options.logoutSender,
    onError: (error) => log.warn({ err: error }, 'delivering back-channel logouts failed'),
  });

  const tasks: Periodic[] = [
    startKeySetWatcher({
      listKeyTimelines: () => keys.repository.listKeyTimelines(),
      initial: initialKeySet,
      intervalMs: config.keys.watchInterval * 1000,
      maintain: scheduledRotation({ rotation: keys.rotation, audit: services.audit, log }),
      async onChange() {
        await keys.service.reload();
        providers.swap(await buildProvider());
        const signing = (await keys.service.signingJwks()).keys.map((key) => ({ alg: key.alg, kid: key.kid }));
        log.info({ keys: signing }, 'key set changed; serving with the new keys');
      },
      onError: (error) => log.warn({ err: error }, 'checking the key set for changes failed'),
    }),
    startPeriodic({
      name: 'registry watcher',
      run: registry.dropIfChanged,
      intervalMs: config.registryWatchIntervalMs,
      onError: (error) => log.warn({ err: error }, 'checking clients and resources for changes failed'),
    }),
    ...startPurgeTasks({
      artifacts,
      throttle,
      audit: services.audit,
      accountTokens: services.accountTokens,
      logoutOutbox: createLogoutOutboxRepository(db),
      auditRetentionDays: config.auditRetentionDays,
      onError: (error, what) => log.warn({ err: error }, `purging ${what} failed`),
    }),
    ...mail.tasks,
    logoutSender,
  ];

  return {
    app,
    tasks,
    async flushAudit() {
      // Reset links asked for in the last requests are still being queued (off the response path): their events come last.
      await forgot.settled();
      await services.audit.stop();
    },
  };
}

