// What a dynamic registration may ask for, read from its JSON body: the
// RFC 7591 fields Latchkey understands, each of the right JSON type, into the
// same ClientBody the Admin API maps (clients/client-metadata-json.ts). Fields
// it does not understand are ignored, as RFC 7591 §2 says. Two things an
// operator's `client create` may do and a stranger may not: name API
// resources (`resources`) and take the client_credentials or token-exchange
// grant (a service acting on its own behalf, or for people towards other
// services, is provisioned by an operator, who chooses what it may reach). The client service checks everything else.
import type { ClientBody } from '../clients/client-metadata-json.ts';
import { InvalidInputError } from '../errors.ts';

const STRINGS = ['client_name', 'token_endpoint_auth_method', 'scope', 'jwks_uri', 'backchannel_logout_uri', 'client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const;
const STRING_LISTS = ['redirect_uris', 'post_logout_redirect_uris', 'grant_types', 'response_types', 'contacts'] as const;
const BOOLEANS = ['require_verified_email', 'require_mfa', 'require_pushed_authorization_requests', 'dpop_bound_access_tokens'] as const;

/** Reads a registration request's metadata; InvalidInputError (naming the field) for a value of the wrong type or a field a registration may not set. */
export function parseRegistrationMetadata(body: unknown): ClientBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('the body must be a JSON object of client metadata');
  const input = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of STRINGS) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new InvalidInputError(`${field} must be a string`, { field });
    out[field] = value;
  }
  for (const field of STRING_LISTS) {
    const value = input[field];
    if (value === undefined) continue;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new InvalidInputError(`${field} must be an array of strings`, { field });
    out[field] = value;
  }
  for (const field of BOOLEANS) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new InvalidInputError(`${field} must be a boolean`, { field });
    out[field] = value;
  }
  if (input.resources !== undefined) throw new InvalidInputError('resources are given to a client by an operator (`latchkey client update --resource`), not at registration', { field: 'resources' });
  const grants = out.grant_types as string[] | undefined;
  if (grants?.includes('client_credentials')) {
    throw new InvalidInputError('the client_credentials grant is for services an operator registers (`latchkey client create`), not for dynamic registration', { field: 'grant_types' });
  }
  // Token exchange acts for people towards other services: an operator's allow-list decides where (--token-exchange-audience).
  if (grants?.some((grant) => grant === 'token-exchange' || grant === 'urn:ietf:params:oauth:grant-type:token-exchange')) {
    throw new InvalidInputError('the token-exchange grant is for services an operator registers (`latchkey client create`), not for dynamic registration', { field: 'grant_types' });
  }
  const responseTypes = out.response_types as string[] | undefined;
  if (responseTypes !== undefined && responseTypes.some((type) => type !== 'code')) {
    throw new InvalidInputError('only the response type "code" is served (authorization code with PKCE)', { field: 'response_types' });
  }
  delete out.response_types;
  return out as ClientBody;
}

/** RFC 7591 §3.2.2's code for a refused registration: invalid_redirect_uri when a redirect URI is at fault, else invalid_client_metadata. */
export function registrationErrorCode(error: InvalidInputError): 'invalid_redirect_uri' | 'invalid_client_metadata' {
  const field = error.field ?? '';
  return /^(post_logout_)?redirect_uris\b/.test(field) ? 'invalid_redirect_uri' : 'invalid_client_metadata';
}
