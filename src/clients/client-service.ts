// OAuth clients: registration, listing, secret rotation, removal, and the
// metadata oidc-provider loads for a client_id. A client secret exists in
// clear only in the value returned by create/rotateSecret; what is stored,
// and what the provider compares against, is its SHA-256 digest.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import type { ClientRepository, ClientRow } from './client-repository.ts';
import { generateClientSecret, hashClientSecret } from './client-secret.ts';
import {
  parseClientRegistration,
  type ApplicationType,
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
};

/** What oidc-provider's client lookup needs: client_secret is the stored digest, not a secret. */
export type ProviderClientMetadata = StoredClientMetadata & {
  readonly client_id: string;
  readonly client_secret?: string;
};

export interface ClientView {
  readonly clientId: string;
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
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface CreatedClient {
  readonly client: ClientView;
  /** Present only for clients that authenticate with a secret; shown this once. */
  readonly clientSecret?: string;
}

export type CreateClientInput = ClientRegistrationInput;

/** What `client update` may change; absent fields stay as they are. */
export interface UpdateClientInput {
  readonly requireVerifiedEmail?: boolean;
  readonly requireMfa?: boolean;
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

  return {
    async create(input: CreateClientInput): Promise<CreatedClient> {
      const registration = parseClientRegistration(input, config.env);

      const registered = await resources.findManyByIdentifier(registration.resources);
      const known = new Set(registered.map((resource) => resource.identifier));
      const missing = registration.resources.find((identifier) => !known.has(identifier));
      if (missing !== undefined) throw new InvalidInputError(`resource ${missing} is not registered`);

      let scope = registration.scope;
      if (scope === undefined) {
        const resourceScopes = registered.flatMap((resource) => resource.scopes);
        const userScopes = registration.grantTypes.includes('authorization_code')
          ? [...OIDC_SCOPES, ...(registration.grantTypes.includes('refresh_token') ? ['offline_access'] : [])]
          : [];
        scope = [...new Set([...userScopes, ...resourceScopes])];
      }
      if (scope.length === 0) {
        throw new InvalidInputError('a client_credentials client needs at least one resource (or an explicit scope) to get tokens for');
      }

      const metadata: StoredClientMetadata = {
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
      };
      const clientSecret = SECRET_METHODS.includes(metadata.token_endpoint_auth_method) ? generateClientSecret() : undefined;
      const row = await repository.insert({
        id: generateClientId(),
        name: registration.name,
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

    async delete(clientId: string): Promise<ClientView> {
      const row = await findRow(clientId);
      if (!(await repository.deleteById(row.id))) throw new NotFoundError(`client ${clientId} does not exist`);
      return toView(row);
    },

    /** Changes a client's sign-in requirements (a verified email, a second factor); absent fields stay. */
    async update(clientId: string, input: UpdateClientInput): Promise<ClientView> {
      const current = await findRow(clientId);
      const { require_verified_email: verifiedBefore, require_mfa: mfaBefore, ...metadata } = parseMetadata(current);
      if ((input.requireVerifiedEmail || input.requireMfa) && !metadata.grant_types.includes('authorization_code')) {
        throw new InvalidInputError(`requiring ${input.requireMfa ? 'a second factor' : 'a verified email'} needs the authorization_code grant: only people sign in`);
      }
      const requireVerifiedEmail = input.requireVerifiedEmail ?? verifiedBefore === true;
      const requireMfa = input.requireMfa ?? mfaBefore === true;
      const updated: StoredClientMetadata = { ...metadata, ...(requireVerifiedEmail && { require_verified_email: true }), ...(requireMfa && { require_mfa: true }) };
      const row = await repository.updateMetadata(current.id, JSON.stringify(updated));
      if (!row) throw new NotFoundError(`client ${clientId} does not exist`);
      return toView(row);
    },

    /** Replaces the secret at once (the old one stops working) and returns the new one, this once. */
    async rotateSecret(clientId: string): Promise<Required<CreatedClient>> {
      const current = await findRow(clientId);
      const method = parseMetadata(current).token_endpoint_auth_method;
      if (!SECRET_METHODS.includes(method)) {
        throw new InvalidInputError(`client ${clientId} authenticates with ${method} and has no secret to rotate`);
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

function toView(row: ClientRow): ClientView {
  const metadata = parseMetadata(row);
  return {
    clientId: row.id,
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
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
