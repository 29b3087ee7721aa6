// RFC 8707 resource indicators: which API a token is for, and what it may carry.
// Every access token for a registered ApiResource is an RFC 9068 JWT signed
// with the resource's algorithm; Latchkey never stores those tokens.
import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';

export interface ResourceDefinition {
  readonly identifier: string;
  readonly scopes: readonly string[];
  readonly accessTokenTtl: number;
  readonly signingAlg: string;
}

export interface ResourceLookup {
  findByIdentifier(identifier: string): Promise<ResourceDefinition | undefined>;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The resource identifiers a client was registered for (custom client metadata `resources`). */
export function registeredResources(client: unknown): string[] {
  return stringList((client as { resources?: unknown } | undefined)?.resources);
}

/** The API scopes a client was registered for (see client-metadata.ts). */
export function registeredResourceScopes(client: unknown): Set<string> {
  return new Set(stringList((client as { resourceScopes?: unknown; resource_scopes?: unknown } | undefined)?.resource_scopes ?? (client as { resourceScopes?: unknown }).resourceScopes));
}

function isClientCredentials(ctx: KoaContextWithOIDC): boolean {
  return ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
}

/** Narrows what a person may get for a resource (role-scopes.ts); absent, a person gets what the client may have. */
export interface PersonScopes {
  forPerson(ctx: KoaContextWithOIDC, resource: string, allowed: readonly string[]): Promise<string[]>;
}

/** What oidc-provider signs a token for `resource` as: an RFC 9068 JWT with the resource's algorithm and lifetime. */
export function resourceServerOf(resource: ResourceDefinition, allowed: readonly string[]): ResourceServer {
  return {
    scope: allowed.join(' '),
    audience: resource.identifier,
    accessTokenTTL: resource.accessTokenTtl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: resource.signingAlg as 'ES256' } },
  };
}

export function createResourceIndicators(resources: ResourceLookup, personScopes?: PersonScopes) {
  return {
    enabled: true,

    // A client-credentials client registered for exactly one API gets that API
    // without naming it, so a bare grant_type=client_credentials request works.
    // With several it must name one: a token without an audience would be an
    // opaque, stored token no resource server can verify offline.
    async defaultResource(ctx: KoaContextWithOIDC, client: unknown, oneOf?: readonly string[]) {
      if (oneOf) return oneOf;
      if (!isClientCredentials(ctx)) return undefined;
      const registered = registeredResources(client);
      if (registered.length === 1) return registered[0];
      throw new errors.InvalidTarget(
        registered.length ? 'the resource parameter is required: this client is registered for several resources' : 'this client is not registered for any resource',
      );
    },

    async getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: unknown): Promise<ResourceServer> {
      const resource = await resources.findByIdentifier(indicator);
      if (!resource) {
        throw new errors.InvalidTarget('resource indicator is not registered');
      }
      if (!registeredResources(client).includes(resource.identifier)) {
        throw new errors.InvalidTarget('client is not allowed to request tokens for this resource');
      }

      // The client's registered scope bounds everything it may ever be granted.
      const clientScopes = registeredResourceScopes(client);
      const clientAllowed = resource.scopes.filter((scope) => clientScopes.has(scope));
      // A person's token is bounded by the person too (the admin resource: their role).
      const allowed = isClientCredentials(ctx) || !personScopes ? clientAllowed : await personScopes.forPerson(ctx, resource.identifier, clientAllowed);

      if (isClientCredentials(ctx)) {
        const params = ctx.oidc.params as { scope?: string };
        const requested = params.scope?.split(' ').filter(Boolean);
        if (requested?.length) {
          const refused = requested.find((scope) => !allowed.includes(scope));
          if (refused) throw new errors.InvalidScope('requested scope is not allowed', refused);
        } else if (allowed.length) {
          // RFC 6749 §3.3: an omitted scope is served with a pre-defined default;
          // ours is everything this client may have for this resource.
          params.scope = allowed.join(' ');
        }
      }

      return resourceServerOf(resource, allowed);
    },

    async useGrantedResource() {
      return true;
    },
  };
}
