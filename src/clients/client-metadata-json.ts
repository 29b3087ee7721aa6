// A client in RFC 7591 metadata names (snake_case JSON) and back: the one
// mapping between that wire shape and the client service's inputs and views,
// shared by the Admin API's /clients and dynamic registration's /reg.
import type { ClientView, UpdateClientInput } from './client-service.ts';
import { ABOUT_URIS, type ClientAboutInput, type ClientRegistrationInput } from './client-validation.ts';

/** The body fields of a client (create and patch), as the OpenAPI schemas ClientCreate and ClientPatch declare them. */
export interface ClientBody {
  readonly client_name?: string;
  readonly redirect_uris?: string[] | null;
  readonly post_logout_redirect_uris?: string[] | null;
  readonly grant_types?: string[];
  readonly response_types?: string[];
  readonly token_endpoint_auth_method?: string;
  readonly scope?: string | null;
  readonly resources?: string[] | null;
  readonly jwks_uri?: string | null;
  readonly backchannel_logout_uri?: string | null;
  readonly require_verified_email?: boolean | null;
  readonly require_mfa?: boolean | null;
  readonly client_uri?: string | null;
  readonly logo_uri?: string | null;
  readonly tos_uri?: string | null;
  readonly policy_uri?: string | null;
  readonly contacts?: string[] | null;
  readonly require_pushed_authorization_requests?: boolean | null;
  readonly dpop_bound_access_tokens?: boolean | null;
  readonly token_exchange_audiences?: string[] | null;
}

const aboutOf = (body: ClientBody) => Object.fromEntries(ABOUT_URIS.filter((field) => body[field] !== undefined).map((field) => [field, body[field]]));

/** A client as the API shows it: never its secret, only whether it has one. */
export function clientJson(client: ClientView) {
  return {
    client_id: client.clientId,
    client_name: client.name,
    application_type: client.applicationType,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: client.grantTypes,
    response_types: client.responseTypes,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    scope: client.scope,
    resources: client.resources,
    ...(client.jwksUri !== undefined && { jwks_uri: client.jwksUri }),
    ...(client.backchannelLogoutUri !== undefined && { backchannel_logout_uri: client.backchannelLogoutUri }),
    require_verified_email: client.requireVerifiedEmail,
    require_mfa: client.requireMfa,
    ...client.about,
    ...(client.contacts.length > 0 && { contacts: client.contacts }),
    require_pushed_authorization_requests: client.requirePar,
    dpop_bound_access_tokens: client.requireDpop,
    ...(client.tokenExchangeAudiences.length > 0 && { token_exchange_audiences: client.tokenExchangeAudiences }),
    client_secret_set: client.secretSet,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
  };
}

/** RFC 7396 at the top level: absent stays, null resets, a value (a whole list) replaces. */
export function toUpdate(body: ClientBody): UpdateClientInput {
  const changes: Record<string, unknown> = {
    name: body.client_name,
    redirectUris: body.redirect_uris,
    postLogoutRedirectUris: body.post_logout_redirect_uris,
    grantTypes: body.grant_types,
    scope: body.scope,
    resources: body.resources,
    tokenEndpointAuthMethod: body.token_endpoint_auth_method,
    jwksUri: body.jwks_uri,
    backchannelLogoutUri: body.backchannel_logout_uri,
    requireVerifiedEmail: body.require_verified_email,
    requireMfa: body.require_mfa,
    about: ABOUT_URIS.some((field) => body[field] !== undefined) ? aboutOf(body) : undefined,
    contacts: body.contacts,
    requirePar: body.require_pushed_authorization_requests,
    requireDpop: body.dpop_bound_access_tokens,
    tokenExchangeAudiences: body.token_exchange_audiences,
  };
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as UpdateClientInput;
}

export function toRegistration(body: ClientBody): ClientRegistrationInput {
  const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
  return {
    name: body.client_name ?? '',
    redirectUris: orUndefined(body.redirect_uris),
    postLogoutRedirectUris: orUndefined(body.post_logout_redirect_uris),
    grantTypes: body.grant_types,
    scope: orUndefined(body.scope),
    resources: orUndefined(body.resources),
    tokenEndpointAuthMethod: body.token_endpoint_auth_method,
    jwksUri: orUndefined(body.jwks_uri),
    backchannelLogoutUri: orUndefined(body.backchannel_logout_uri),
    requireVerifiedEmail: body.require_verified_email === true,
    requireMfa: body.require_mfa === true,
    about: aboutOf(body) as ClientAboutInput,
    contacts: orUndefined(body.contacts),
    requirePar: body.require_pushed_authorization_requests === true,
    requireDpop: body.dpop_bound_access_tokens === true,
    tokenExchangeAudiences: orUndefined(body.token_exchange_audiences),
  };
}
