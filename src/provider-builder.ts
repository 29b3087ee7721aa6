// Builds oidc-provider instances with everything Latchkey hangs on them:
// the configuration (provider.ts), single-use grants, metrics, the audit of
// provider events, logs of its server and back-channel errors, and the
// answers for structured (JWT) access tokens. oidc-provider reads its keys
// only at construction, so a change of the key set builds a new instance
// with everything else the same (provider-holder.ts): hence a builder,
// called once at start and again on each key-set change.
import type { AdapterFactory } from 'oidc-provider';
import type { AccountService } from './accounts/account-service.ts';
import { auditProviderEvents } from './oidc/provider-audit.ts';
import type { AuditService } from './audit/audit-service.ts';
import type { LogoutNotices } from './backchannel/logout-notices.ts';
import type { Config } from './config/config.ts';
import type { Metrics } from './http/metrics.ts';
import type { Views } from './http/views.ts';
import type { KeyService } from './keys/key-service.ts';
import type { Log } from './log.ts';
import type { ArtifactRepository } from './oidc/artifact-repository.ts';
import { createJwtAccessTokens } from './oidc/jwt-access-tokens.ts';
import { createJwtIntrospection } from './oidc/jwt-introspection.ts';
import { createJwtRevocation } from './oidc/jwt-revocation.ts';
import { createProvider } from './oidc/provider.ts';
import { auditDeviceApprovals } from './oidc/device-audit.ts';
import { guardDeviceResume } from './oidc/device-resume-guard.ts';
import { throttleDeviceCodeEntry } from './oidc/device-code-throttle.ts';
import { paceDevicePolling } from './oidc/device-polling.ts';
import type { RefreshRetries } from './oidc/refresh-retries.ts';
import type { SignInProviderLookup } from './oidc/find-account.ts';
import type { RegistryCache } from './oidc/registry-cache.ts';
import { createRevokedAccessTokens } from './oidc/revoked-access-tokens.ts';
import { redeemGrantsOnce } from './oidc/single-use-grants.ts';
import { exchangeTokens } from './oidc/token-exchange.ts';
import { answerStructuredTokens } from './oidc/structured-token-fallback.ts';
import type { ThrottleKeys } from './throttle/throttle-keys.ts';
import type { ThrottleService } from './throttle/throttle-service.ts';

export interface ProviderBuilderDeps {
  readonly config: Config;
  readonly log: Log;
  readonly adapter: AdapterFactory;
  readonly artifacts: ArtifactRepository;
  readonly registry: Pick<RegistryCache, 'clients' | 'resources'>;
  readonly keys: Pick<KeyService, 'signingJwks' | 'publicJwks'>;
  readonly cookieKeys: string[];
  readonly accounts: AccountService;
  readonly audit: AuditService;
  readonly views: Views;
  readonly metrics: Metrics;
  readonly throttle: ThrottleService;
  readonly throttleKeys: ThrottleKeys;
  readonly retries: RefreshRetries;
  readonly logoutNotices: Pick<LogoutNotices, 'queue'>;
  /** The upstream of a federated sign-in, for the ID token's idp claim. */
  readonly signInProvider?: SignInProviderLookup;
}

export function createProviderBuilder(deps: ProviderBuilderDeps) {
  const { config, log, metrics, retries } = deps;
  // Shared by every instance: the revocation list lives in the database, the verifier reads the current keys.
  const revokedAccessTokens = createRevokedAccessTokens({ artifacts: deps.artifacts });
  const jwtAccessTokens = createJwtAccessTokens({ issuer: config.issuer, publicJwks: () => deps.keys.publicJwks(), revoked: revokedAccessTokens, accounts: deps.accounts });

  return async () => {
    const provider = createProvider({
      config,
      adapter: deps.adapter,
      jwks: await deps.keys.signingJwks(),
      cookieKeys: deps.cookieKeys,
      resources: deps.registry.resources,
      accounts: deps.accounts,
      ...(deps.signInProvider && { signInProvider: deps.signInProvider }),
      views: deps.views,
      clientAuthThrottle: { throttle: deps.throttle, keys: deps.throttleKeys, onThrottled: (scope) => metrics.throttled.inc({ scope }) },
      rotatesRefreshToken: retries.rotates,
      logoutNotices: deps.logoutNotices,
    });
    redeemGrantsOnce(provider, { retries });
    // The device flow (RFC 8628): slow_down for a device polling too fast, brute-force protection for typed user codes, the audit of approvals.
    const onThrottled = (scope: string) => metrics.throttled.inc({ scope });
    paceDevicePolling(provider, { throttle: deps.throttle, keys: deps.throttleKeys, onThrottled });
    throttleDeviceCodeEntry(provider, { throttle: deps.throttle, keys: deps.throttleKeys, views: deps.views, onThrottled });
    auditDeviceApprovals(provider, deps.audit);
    guardDeviceResume(provider);
    // Token exchange (RFC 8693): a service trades a person's token for one to another service (token-exchange.ts).
    exchangeTokens(provider, { resources: deps.registry.resources, accessTokens: jwtAccessTokens, audit: deps.audit });
    provider.on('server_error', (_ctx, error) => log.error({ err: error }, 'oidc-provider server error'));
    metrics.observe(provider);
    auditProviderEvents(provider, deps.audit);
    // Logout tokens are only queued at end_session (backchannel/provider-logout-tokens.ts): this is a queueing that failed (the
    // database away). The client keeps its session: worth a warning, not a failed sign-out.
    provider.on('backchannel.error', (_ctx, error, client) => log.warn({ err: error, clientId: client.clientId }, 'queueing a back-channel logout failed'));
    answerStructuredTokens(provider, {
      introspection: createJwtIntrospection(jwtAccessTokens),
      revocation: createJwtRevocation(jwtAccessTokens, revokedAccessTokens),
    });
    return provider;
  };
}
