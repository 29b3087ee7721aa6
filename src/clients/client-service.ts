// OAuth clients: registration, listing, secret rotation, removal, and the
// metadata oidc-provider loads for a client_id. A client secret exists in
// clear only in the value returned by create/rotateSecret; what is stored,
// and what the provider compares against, is its SHA-256 digest.
import { randomBytes } from 'node:crypto';
import { compareAndSwap, type ChangeOptions } from '../compare-and-swap.ts';
import type { Config } from '../config/config.ts';
import { InvalidInputError, NotFoundError, PreconditionFailedError } from '../errors.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import type { ClientRepository, ClientRow } from './client-repository.ts';
import { generateClientSecret, hashClientSecret } from './client-secret.ts';
import {
  ABOUT_URIS,
  parseClientRegistration,
  type AboutUri,
  signsInPeople,
  type ApplicationType,
  type ClientAboutInput,
  type AuthMethod,
  type ClientRegistrationInput,
  type GrantType,
} from './client-validation.ts';

/**
 * oidc-provider client metadata as stored in Client.metadata (no client_secret,
 * ever). A type alias, not an interface, so it stays assignable to
 * Record<string, unknown> where the provider takes plain metadata.
 */
export type StoredClientMetadata = {
  readonly client_name: string;
  readonly application_type: ApplicationType;
  readonly redirect_uris: string[];
  readonly post_logout_redirect_uris: string[];
  readonly grant_types: GrantType[];
  readonly response_types: 'code'[];
  readonly scope: string;
  readonly token_endpoint_auth_method: AuthMethod;
  readonly jwks_uri?: string;
  readonly backchannel_logout_uri?: string;
  /** Always true with a back-channel logout URI: the logout token names the session (sid). */
  readonly backchannel_logout_session_required?: boolean;
  /** Identifiers of the API resources this client may get access tokens for. */
  readonly resources: string[];
  /** Present (true) when sign-ins for this client wait until the account's email is verified. */
  readonly require_verified_email?: boolean;
  /** Present (true) when sign-ins for this client need a second factor. */
  readonly require_mfa?: boolean;
  /** RFC 7591 §2, for people; oidc-provider knows them as standard metadata. */
  readonly client_uri?: string;
  readonly logo_uri?: string;
  readonly tos_uri?: string;
  readonly policy_uri?: string;
  readonly contacts?: string[];
  /** Present (true) when authorization requests must be pushed first (RFC 9126 §6); oidc-provider enforces it. */
  readonly require_pushed_authorization_requests?: boolean;
  /** Present (true) when every token request must carry a DPoP proof (RFC 9449 §5.2); oidc-provider enforces it. */
  readonly dpop_bound_access_tokens?: boolean;
  /** Present (non-empty) with the token-exchange grant: the resources this client may exchange a person's token for (RFC 8693). */
  readonly token_exchange_audiences?: string[];
};

/** What oidc-provider's client lookup needs: client_secret is the stored digest, not a secret. */
export type ProviderClientMetadata = StoredClientMetadata & {
  readonly client_id: string;
  readonly client_secret?: string;
};

export interface ClientView {
  readonly clientId: string;
  /** Changes with every write (a secret rotation included): the ETag of the Admin API. */
  readonly version: string;
  /** Whether the client authenticates with a secret (only its digest is kept). */
  readonly secretSet: boolean;
  readonly name: string;
  readonly public: boolean;
  readonly applicationType: ApplicationType;
  readonly tokenEndpointAuthMethod: AuthMethod;
  readonly grantTypes: GrantType[];
  readonly responseTypes: 'code'[];
  readonly redirectUris: string[];
  readonly postLogoutRedirectUris: string[];
  readonly scope: string;
  readonly resources: string[];
  readonly jwksUri?: string;
  readonly backchannelLogoutUri?: string;
  readonly requireVerifiedEmail: boolean;
  readonly requireMfa: boolean;
  /** client_uri, logo_uri, tos_uri, policy_uri: only those set. */
  readonly about: ClientAboutInput;
  readonly contacts: string[];
  readonly requirePar: boolean;
  readonly requireDpop: boolean;
  readonly tokenExchangeAudiences: string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface CreatedClient {
  readonly client: ClientView;
  /** Present only for clients that authenticate with a secret; shown this once. */
  readonly clientSecret?: string;
}

export type CreateClientInput = ClientRegistrationInput;

/**
 * What an update may change: absent fields stay as they are, null puts a
 * field back to its default (no URIs, no resources, not required, a scope
 * derived from the resources). The result must pass every rule a new
 * registration must.
 */
export interface UpdateClientInput {
  readonly name?: string;
  readonly redirectUris?: readonly string[] | null;
  readonly postLogoutRedirectUris?: readonly string[] | null;
  readonly grantTypes?: readonly string[];
  readonly scope?: string | null;
  readonly resources?: readonly string[] | null;
  readonly tokenEndpointAuthMethod?: string;
  readonly jwksUri?: string | null;
  readonly backchannelLogoutUri?: string | null;
  readonly requireVerifiedEmail?: boolean | null;
  readonly requireMfa?: boolean | null;
  /** Per field: absent stays, null removes. */
  readonly about?: { readonly [field in AboutUri]?: string | null };
  readonly contacts?: readonly string[] | null;
  readonly requirePar?: boolean | null;
  readonly requireDpop?: boolean | null;
  readonly tokenExchangeAudiences?: readonly string[] | null;
}

export interface ClientServiceDeps {
  readonly repository: ClientRepository;
  readonly resources: Pick<ResourceService, 'findManyByIdentifier'>;
  readonly config: Pick<Config, 'env'>;
}

const OIDC_SCOPES = ['openid', 'profile', 'email'];
const SECRET_METHODS: readonly AuthMethod[] = ['client_secret_basic', 'client_secret_post'];

export function createClientService({ repository, resources, config }: ClientServiceDeps) {
  async function findRow(clientId: string): Promise<ClientRow> {
    const row = await repository.findById(clientId);
    if (!row) throw new NotFoundError(`client ${clientId} does not exist`);
    return row;
  }

  /** Checks a registration (rules, registered resources) and builds the metadata stored for it. */
  async function resolveMetadata(input: ClientRegistrationInput): Promise<StoredClientMetadata> {
    const registration = parseClientRegistration(input, config.env);

    const registered = await resources.findManyByIdentifier(registration.resources);
    const known = new Set(registered.map((resource) => resource.identifier));
    const missing = registration.resources.findIndex((identifier) => !known.has(identifier));
    if (missing !== -1) throw new InvalidInputError(`resource ${registration.resources[missing]} is not registered`, { field: `resources[${missing}]` });
    const audiences = await resources.findManyByIdentifier(registration.tokenExchangeAudiences);
    const knownAudiences = new Set(audiences.map((resource) => resource.identifier));
    const unknownAudience = registration.tokenExchangeAudiences.findIndex((identifier) => !knownAudiences.has(identifier));
    if (unknownAudience !== -1) {
      throw new InvalidInputError(`resource ${registration.tokenExchangeAudiences[unknownAudience]} is not registered`, { field: `token_exchange_audiences[${unknownAudience}]` });
    }

    let scope = registration.scope;
    if (scope === undefined) {
      // A derived scope covers the token-exchange audiences too: what it may pass on is bounded by the person's token anyway.
      const resourceScopes = [...registered, ...audiences].flatMap((resource) => resource.scopes);
      const userScopes = signsInPeople(registration.grantTypes)
        ? [...OIDC_SCOPES, ...(registration.grantTypes.includes('refresh_token') ? ['offline_access'] : [])]
        : [];
      scope = [...new Set([...userScopes, ...resourceScopes])];
    }
    if (scope.length === 0) {
      throw new InvalidInputError('a client_credentials client needs at least one resource (or an explicit scope) to get tokens for', { field: 'resources' });
    }

    return {
      client_name: registration.name,
      application_type: registration.applicationType,
      redirect_uris: registration.redirectUris,
      post_logout_redirect_uris: registration.postLogoutRedirectUris,
      grant_types: registration.grantTypes,
      response_types: registration.responseTypes,
      scope: scope.join(' '),
      token_endpoint_auth_method: registration.tokenEndpointAuthMethod,
      ...(registration.jwksUri !== undefined && { jwks_uri: registration.jwksUri }),
      ...(registration.backchannelLogoutUri !== undefined && {
        backchannel_logout_uri: registration.backchannelLogoutUri,
        backchannel_logout_session_required: true,
      }),
      resources: registration.resources,
      ...(registration.requireVerifiedEmail && { require_verified_email: true }),
      ...(registration.requireMfa && { require_mfa: true }),
      ...registration.about,
      ...(registration.contacts.length > 0 && { contacts: registration.contacts }),
      ...(registration.requirePar && { require_pushed_authorization_requests: true }),
      ...(registration.requireDpop && { dpop_bound_access_tokens: true }),
      ...(registration.tokenExchangeAudiences.length > 0 && { token_exchange_audiences: registration.tokenExchangeAudiences }),
    };
  }

  function stale(clientId: string): PreconditionFailedError {
    return new PreconditionFailedError(`client ${clientId} has changed since the version given`);
  }

  /** After a compare-and-swap that changed nothing: gone (404) or changed meanwhile (412). */
  async function lostRace(clientId: string): Promise<Error> {
    return (await repository.findById(clientId)) ? stale(clientId) : new NotFoundError(`client ${clientId} does not exist`);
  }

  return {
    async create(input: CreateClientInput): Promise<CreatedClient> {
      const metadata = await resolveMetadata(input);
      const clientSecret = SECRET_METHODS.includes(metadata.token_endpoint_auth_method) ? generateClientSecret() : undefined;
      const row = await repository.insert({
        id: generateClientId(),
        name: metadata.client_name,
        secretHash: clientSecret === undefined ? null : hashClientSecret(clientSecret),
        metadata: JSON.stringify(metadata),
      });
      return clientSecret === undefined ? { client: toView(row) } : { client: toView(row), clientSecret };
    },

    async list(): Promise<ClientView[]> {
      return (await repository.list()).map(toView);
    },

    async get(clientId: string): Promise<ClientView> {
      return toView(await findRow(clientId));
    },

    /** One page in client_id order, after the id `after` (from the start when absent). */
    async listPage(page: { readonly after?: string; readonly limit: number }): Promise<ClientView[]> {
      return (await repository.listPage(page)).map(toView);
    },

    /** Deletes a client; a compare-and-swap on `version` when given. */
    async delete(clientId: string, options: ChangeOptions = {}): Promise<ClientView> {
      return compareAndSwap(
        options,
        async () => {
          const row = await findRow(clientId);
          if (options.version !== undefined && options.version !== versionOf(row)) throw stale(clientId);
          return (await repository.deleteIfUnchanged(row.id, row.updatedAt)) ? toView(row) : undefined;
        },
        () => lostRace(clientId),
      );
    },

    /**
     * Changes a client's registration (see UpdateClientInput), checked like
     * a new one; a compare-and-swap on `version` when given. Switching to a
     * secret-based auth method gives the client a secret, returned this once;
     * switching away from one drops it.
     */
    async update(clientId: string, input: UpdateClientInput, options: ChangeOptions = {}): Promise<CreatedClient> {
      return compareAndSwap(
        options,
        async () => {
          const current = await findRow(clientId);
          if (options.version !== undefined && options.version !== versionOf(current)) throw stale(clientId);
          const before = parseMetadata(current);
          const pick = <T>(change: T | null | undefined, kept: T | undefined): T | undefined => (change === undefined ? kept : change === null ? undefined : change);
          const metadata = await resolveMetadata({
            name: input.name ?? current.name,
            redirectUris: pick(input.redirectUris, before.redirect_uris),
            postLogoutRedirectUris: pick(input.postLogoutRedirectUris, before.post_logout_redirect_uris),
            grantTypes: input.grantTypes ?? before.grant_types,
            scope: pick(input.scope, before.scope),
            resources: pick(input.resources, before.resources),
            tokenEndpointAuthMethod: input.tokenEndpointAuthMethod ?? before.token_endpoint_auth_method,
            jwksUri: pick(input.jwksUri, before.jwks_uri),
            backchannelLogoutUri: pick(input.backchannelLogoutUri, before.backchannel_logout_uri),
            requireVerifiedEmail: pick(input.requireVerifiedEmail, before.require_verified_email === true),
            requireMfa: pick(input.requireMfa, before.require_mfa === true),
            about: Object.fromEntries(ABOUT_URIS.map((field) => [field, pick(input.about?.[field], before[field])]).filter(([, value]) => value !== undefined)),
            contacts: pick(input.contacts, before.contacts),
            requirePar: pick(input.requirePar, before.require_pushed_authorization_requests === true),
            requireDpop: pick(input.requireDpop, before.dpop_bound_access_tokens === true),
            tokenExchangeAudiences: pick(input.tokenExchangeAudiences, before.token_exchange_audiences),
          });
          const usesSecret = SECRET_METHODS.includes(metadata.token_endpoint_auth_method);
          const clientSecret = usesSecret && current.secretHash === null ? generateClientSecret() : undefined;
          const row = await repository.updateIfUnchanged(current.id, current.updatedAt, {
            name: metadata.client_name,
            metadata: JSON.stringify(metadata),
            ...(!usesSecret && { secretHash: null }),
            ...(clientSecret !== undefined && { secretHash: hashClientSecret(clientSecret) }),
          });
          if (!row) return undefined;
          return clientSecret === undefined ? { client: toView(row) } : { client: toView(row), clientSecret };
        },
        () => lostRace(clientId),
      );
    },

    /** Replaces the secret at once (the old one stops working) and returns the new one, this once. */
    async rotateSecret(clientId: string): Promise<Required<CreatedClient>> {
      const current = await findRow(clientId);
      const method = parseMetadata(current).token_endpoint_auth_method;
      if (!SECRET_METHODS.includes(method)) {
        throw new InvalidInputError(`client ${clientId} authenticates with ${method} and has no secret to rotate`, { field: 'token_endpoint_auth_method' });
      }
      const clientSecret = generateClientSecret();
      const row = await repository.updateSecretHash(current.id, hashClientSecret(clientSecret));
      if (!row) throw new NotFoundError(`client ${clientId} does not exist`);
      return { client: toView(row), clientSecret };
    },

    /** Changes whenever any client changes (a secret rotation included); caches compare it to know when to drop. */
    changeMarker(): Promise<string> {
      return repository.changeMarker();
    },

    /**
     * The metadata oidc-provider builds its Client from, or undefined for an
     * unknown client_id. client_secret carries the stored digest: the
     * provider's secret check must hash what the client presents.
     */
    async findProviderMetadata(clientId: string): Promise<ProviderClientMetadata | undefined> {
      const row = await repository.findById(clientId);
      if (!row) return undefined;
      return {
        ...parseMetadata(row),
        client_id: row.id,
        ...(row.secretHash !== null && { client_secret: row.secretHash }),
      };
    },
  };
}

export type ClientService = ReturnType<typeof createClientService>;

/** 'lk_' + 128 random bits, base64url: URL-safe and unguessable. */
function generateClientId(): string {
  return `lk_${randomBytes(16).toString('base64url')}`;
}

function parseMetadata(row: ClientRow): StoredClientMetadata {
  return JSON.parse(row.metadata) as StoredClientMetadata;
}

/** A row's version: its updatedAt in milliseconds, which every write moves forward. */
function versionOf(row: Pick<ClientRow, 'updatedAt'>): string {
  return String(row.updatedAt.getTime());
}

function toView(row: ClientRow): ClientView {
  const metadata = parseMetadata(row);
  return {
    clientId: row.id,
    version: versionOf(row),
    secretSet: row.secretHash !== null,
    name: row.name,
    public: metadata.token_endpoint_auth_method === 'none',
    applicationType: metadata.application_type,
    tokenEndpointAuthMethod: metadata.token_endpoint_auth_method,
    grantTypes: metadata.grant_types,
    responseTypes: metadata.response_types,
    redirectUris: metadata.redirect_uris,
    postLogoutRedirectUris: metadata.post_logout_redirect_uris,
    scope: metadata.scope,
    resources: metadata.resources,
    ...(metadata.jwks_uri !== undefined && { jwksUri: metadata.jwks_uri }),
    ...(metadata.backchannel_logout_uri !== undefined && { backchannelLogoutUri: metadata.backchannel_logout_uri }),
    requireVerifiedEmail: metadata.require_verified_email === true,
    requireMfa: metadata.require_mfa === true,
    about: Object.fromEntries(ABOUT_URIS.filter((field) => metadata[field] !== undefined).map((field) => [field, metadata[field]])),
    contacts: metadata.contacts ?? [],
    requirePar: metadata.require_pushed_authorization_requests === true,
    requireDpop: metadata.dpop_bound_access_tokens === true,
    tokenExchangeAudiences: metadata.token_exchange_audiences ?? [],
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
