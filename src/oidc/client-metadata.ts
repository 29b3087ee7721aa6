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

/**
 * The registered clients as oidc-provider sees them, and the built-in ones
 * (`builtIn`, by client_id: account-client.ts), which win over any row.
 */
export function providerClientSource(clients: ClientMetadataSource, builtIn: Readonly<Record<string, Record<string, unknown>>> = {}): ClientMetadataSource {
  return {
    async findProviderMetadata(clientId) {
      if (Object.hasOwn(builtIn, clientId)) return builtIn[clientId];
      const stored = await clients.findProviderMetadata(clientId);
      return stored && toProviderMetadata(stored);
    },
  };
}
