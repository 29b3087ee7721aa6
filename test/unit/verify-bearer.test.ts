// The Authorization header forms (RFC 6750 §2.1) and the RFC 6750 §3
// responses each refusal turns into.
import { describe, expect, it } from 'vitest';
import {
  authenticate,
  bearerChallenge,
  errorResponse,
  extractBearerToken,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidAuthorizationHeaderError,
  InvalidTokenError,
  TokenMissingError,
  VerifierUnavailableError,
  type Verifier,
  type VerifyError,
  type VerifyErrorCode,
} from '../../packages/verify/src/index.ts';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('extractBearerToken', () => {
  it.each([
    ['Bearer <token>', `Bearer ${TOKEN}`],
    ['a lower-case scheme', `bearer ${TOKEN}`],
    ['an upper-case scheme', `BEARER ${TOKEN}`],
    ['several spaces (1*SP)', `Bearer   ${TOKEN}`],
    ['surrounding whitespace', `  Bearer ${TOKEN}  `],
    ['b64token padding', 'Bearer abc+/~-._=='],
    ['one value in a list', [`Bearer ${TOKEN}`]],
  ])('accepts %s', (_name, header) => {
    expect(extractBearerToken(header)).toBe(header === 'Bearer abc+/~-._==' ? 'abc+/~-._==' : TOKEN);
  });

  const refused: [string, string | string[] | undefined | null, VerifyErrorCode, number][] = [
    ['no header', undefined, 'token_missing', 401],
    ['null', null, 'token_missing', 401],
    ['an empty header', '', 'token_missing', 401],
    ['a blank header', '   ', 'token_missing', 401],
    ['no value in a list', [], 'token_missing', 401],
    ['the Basic scheme', 'Basic bGtfeDpzZWNyZXQ=', 'token_missing', 401],
    ['the DPoP scheme', `DPoP ${TOKEN}`, 'token_missing', 401],
    ['a scheme glued to the token', `Bearer${TOKEN}`, 'token_missing', 401],
    ['two Authorization headers', [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`], 'invalid_authorization_header', 400],
    ['a Bearer and a Basic header', [`Bearer ${TOKEN}`, 'Basic eDp5'], 'invalid_authorization_header', 400],
    ['the scheme alone', 'Bearer', 'invalid_authorization_header', 400],
    ['the scheme and a space', 'Bearer ', 'invalid_authorization_header', 400],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`, 'invalid_authorization_header', 400],
    ['two credentials joined by a comma', `Bearer ${TOKEN}, Bearer ${TOKEN}`, 'invalid_authorization_header', 400],
    ['a tab instead of a space', `Bearer\t${TOKEN}`, 'invalid_authorization_header', 400],
    ['a quoted token', `Bearer "${TOKEN}"`, 'invalid_authorization_header', 400],
    ['characters outside b64token', 'Bearer tok€n', 'invalid_authorization_header', 400],
    ['padding in the middle', 'Bearer ab=cd', 'invalid_authorization_header', 400],
    ['auth-params instead of a token', 'Bearer token="abc"', 'invalid_authorization_header', 400],
  ];

  it.each(refused)('refuses %s', (_name, header, code, status) => {
    let caught: VerifyError | undefined;
    try {
      extractBearerToken(header);
    } catch (error) {
      caught = error as VerifyError;
    }
    expect({ code: caught?.code, status: caught?.status }).toEqual({ code, status });
  });
});

describe('authenticate', () => {
  const calls: { token: string; options: unknown }[] = [];
  const recorder: Pick<Verifier, 'verify'> = {
    async verify(token, options) {
      calls.push({ token, options });
      return { claims: { iss: 'i', sub: 's', aud: 'a', exp: 1, iat: 1, client_id: 'c' }, scopes: [], header: { alg: 'ES256' } };
    },
  };

  it('passes the bearer token with the route scopes, online-check flag and sign-in levels to the verifier', async () => {
    await authenticate(`Bearer ${TOKEN}`, { verifier: recorder, scopes: ['orders:read'], introspect: true });
    await authenticate(`Bearer ${TOKEN}`, { verifier: recorder });
    await authenticate(`Bearer ${TOKEN}`, { verifier: recorder, requireAcr: ['urn:latchkey:acr:mfa'] });
    expect(calls).toEqual([
      { token: TOKEN, options: { requiredScopes: ['orders:read'], introspect: true } },
      { token: TOKEN, options: {} },
      { token: TOKEN, options: { requireAcr: ['urn:latchkey:acr:mfa'] } },
    ]);
  });

  it('never reaches the verifier with a bad header', async () => {
    const before = calls.length;
    await expect(authenticate(['Bearer a', 'Bearer b'], { verifier: recorder })).rejects.toMatchObject({ code: 'invalid_authorization_header' });
    await expect(authenticate(undefined, { verifier: recorder })).rejects.toMatchObject({ code: 'token_missing' });
    expect(calls.length).toBe(before);
  });
});

describe('errorResponse (RFC 6750 §3)', () => {
  it.each([
    [new TokenMissingError('no bearer token was sent'), {}, 401, 'Bearer', 'unauthorized'],
    [new TokenMissingError('no bearer token was sent'), { realm: 'orders' }, 401, 'Bearer realm="orders"', 'unauthorized'],
    [
      new InvalidAuthorizationHeaderError('the Authorization header must be sent once'),
      {},
      400,
      'Bearer error="invalid_request", error_description="the Authorization header must be sent once"',
      'invalid_request',
    ],
    [
      new InvalidTokenError('token_expired', 'the access token has expired'),
      { realm: 'orders' },
      401,
      'Bearer realm="orders", error="invalid_token", error_description="the access token has expired"',
      'invalid_token',
    ],
    [
      new InsufficientScopeError(['orders:read', 'orders:write']),
      {},
      403,
      'Bearer error="insufficient_scope", error_description="the access token does not carry every scope this resource requires", scope="orders:read orders:write"',
      'insufficient_scope',
    ],
    [
      new InsufficientUserAuthenticationError(['urn:latchkey:acr:mfa']),
      { realm: 'orders' },
      401,
      'Bearer realm="orders", error="insufficient_user_authentication", error_description="the access token comes from a sign-in weaker than this resource requires", acr_values="urn:latchkey:acr:mfa"',
      'insufficient_user_authentication',
    ],
    [
      new InsufficientUserAuthenticationError(['urn:example:silver', 'urn:example:gold']),
      {},
      401,
      'Bearer error="insufficient_user_authentication", error_description="the access token comes from a sign-in weaker than this resource requires", acr_values="urn:example:silver urn:example:gold"',
      'insufficient_user_authentication',
    ],
    [new VerifierUnavailableError('keys_unavailable', 'the issuer keys could not be fetched'), {}, 503, undefined, 'temporarily_unavailable'],
  ] as const)('%s → %i', (error, options, status, challenge, bodyError) => {
    const response = errorResponse(error, options);
    expect(response.status).toBe(status);
    expect(response.headers['www-authenticate']).toBe(challenge);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({ error: bodyError, error_description: error.message });
  });

  it('keeps quoted-string values inside the RFC 6750 character set', () => {
    const challenge = bearerChallenge(new InvalidTokenError('malformed_token', 'say "hi"\\\r\nX-Injected: 1'), { realm: 'a"b' });
    expect(challenge).toBe('Bearer realm="ab", error="invalid_token", error_description="say hiX-Injected: 1"');
  });
});
