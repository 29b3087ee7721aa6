// Turns a registered client into the metadata oidc-provider validates.
// oidc-provider accepts only its own static scopes (openid, profile, …) in a
// client's `scope`, but Latchkey's API scopes are registered at run time. So a
// client's one registered scope string is split: OpenID scopes stay in `scope`
// (oidc-provider enforces them), API scopes go to `resource_scopes`, which
// resource-indicators.ts enforces for every token issued for an API.
import { OIDC_SCOPES } from './scopes.ts';

export interface ClientMetadataSource {
  findProviderMetadata(clientId: string): Promise<Record<string, unknown> | undefined>;
}

const OIDC = new Set<string>(OIDC_SCOPES);

export function toProviderMetadata(stored: Record<string, unknown>): Record<string, unknown> {
  const scopes = typeof stored.scope === 'string' ? stored.scope.split(' ').filter(Boolean) : [];
  const oidcScopes = scopes.filter((s) => OIDC.has(s));
  const { scope: _scope, ...rest } = stored;
  return {
    ...rest,
    // An empty `scope` would lift oidc-provider's check altogether; a client
    // without OpenID scopes gets `openid` only, which needs a user anyway.
    scope: oidcScopes.length ? oidcScopes.join(' ') : 'openid',
    resource_scopes: scopes.filter((s) => !OIDC.has(s)),
  };
}

export interface ClientSourceOptions {
  /** Built-in clients by client_id (account-client.ts), which win over any row. */
  readonly builtIn?: Readonly<Record<string, Record<string, unknown>>>;
  /**
   * LATCHKEY_REQUIRE_PAR: every registered client must push its authorization
   * requests (RFC 9126 require_pushed_authorization_requests), whatever its
   * own registration says. Built-in clients are not bound: Latchkey builds
   * their requests itself.
   */
  readonly requirePar?: boolean;
}

/** The registered clients as oidc-provider sees them, and the built-in ones. */
export function providerClientSource(clients: ClientMetadataSource, options: ClientSourceOptions = {}): ClientMetadataSource {
  const builtIn = options.builtIn ?? {};
  return {
    async findProviderMetadata(clientId) {
      if (Object.hasOwn(builtIn, clientId)) return builtIn[clientId];
      const stored = await clients.findProviderMetadata(clientId);
      if (!stored) return undefined;
      const metadata = toProviderMetadata(stored);
      return options.requirePar ? { ...metadata, require_pushed_authorization_requests: true } : metadata;
    },
  };
}
