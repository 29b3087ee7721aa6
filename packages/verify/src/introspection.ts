// The optional online check: asks the issuer's RFC 7662 introspection endpoint
// whether a token (already verified offline) is still active, authenticating
// as the resource server's own client. It fails closed: no answer, or any
// answer but `active: true`, refuses the token.
import { InvalidTokenError, VerifierUnavailableError } from './errors.ts';
import { fetchJson, type FetchOptions } from './issuer-metadata.ts';

export interface IntrospectionCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export async function requireActive(token: string, endpoint: URL | undefined, credentials: IntrospectionCredentials, options: FetchOptions): Promise<Record<string, unknown>> {
  if (!endpoint) {
    throw new VerifierUnavailableError('introspection_unavailable', 'the issuer publishes no introspection_endpoint');
  }
  let answer: unknown;
  try {
    answer = await fetchJson(
      endpoint,
      {
        method: 'POST',
        headers: { authorization: basicAuthorization(credentials), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      },
      options,
    );
  } catch (error) {
    throw new VerifierUnavailableError('introspection_unavailable', 'the introspection endpoint did not answer', { cause: error });
  }
  const fields = (answer ?? {}) as Record<string, unknown>;
  if (fields.active !== true) {
    throw new InvalidTokenError('token_inactive', 'the issuer reports the access token as inactive');
  }
  return fields;
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
function basicAuthorization({ clientId, clientSecret }: IntrospectionCredentials): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}
