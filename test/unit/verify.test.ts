// The verifier against a stand-in issuer: a real HTTP server on loopback that
// publishes metadata and a JWKS we control and counts every request, so the
// cache, the unknown-kid refetch and its rate limit are observable. Tokens are
// signed here with the stand-in's keys (what Latchkey itself issues is covered
// by test/integration/verify.test.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createVerifier, InsufficientUserAuthenticationError, InvalidTokenError, VerifyError, type VerifierOptions, type VerifyErrorCode, type VerifyOptions } from '../../packages/verify/src/index.ts';

const AUDIENCE = 'https://orders.example.test/api';
// Latchkey's two sign-in levels (src/interactions/acr.ts); the verifier knows none of them.
const PASSWORD = 'urn:latchkey:acr:password';
const MFA = 'urn:latchkey:acr:mfa';

interface SigningKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256' | 'EdDSA';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function signingKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A minimal issuer: RFC 8414 metadata, a JWKS, an RFC 7662 endpoint; counts requests per path. */
async function startStandInIssuer(options: { metadataPath?: string; jwksUri?: string; introspectionEndpoint?: string } = {}) {
  const counts = new Map<string, number>();
  const introspections: { authorization?: string; body: string }[] = [];
  const state = {
    published: [] as JWK[],
    introspectionAnswer: { status: 200, body: { active: true } as unknown },
  };
  const metadataPath = options.metadataPath ?? '/.well-known/oauth-authorization-server';
  const server = http.createServer((req, res) => {
    counts.set(req.url!, (counts.get(req.url!) ?? 0) + 1);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === metadataPath) {
      json(200, { issuer, jwks_uri: options.jwksUri ?? `${issuer}/jwks`, introspection_endpoint: options.introspectionEndpoint ?? `${issuer}/token/introspection` });
    } else if (req.url === '/jwks') {
      json(200, { keys: state.published });
    } else if (req.url === '/token/introspection' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        introspections.push({ authorization: req.headers.authorization, body });
        json(state.introspectionAnswer.status, state.introspectionAnswer.body);
      });
    } else {
      json(404, { error: 'not_found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    state,
    introspections,
    jwksFetches: () => counts.get('/jwks') ?? 0,
    metadataFetches: () => counts.get(metadataPath) ?? 0,
    requests: () => [...counts.values()].reduce((a, b) => a + b, 0),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type StandIn = Awaited<ReturnType<typeof startStandInIssuer>>;

let issuer: StandIn;
let es256: SigningKey;
let rs256: SigningKey;
let eddsa: SigningKey;
let attacker: SigningKey;

const nowSec = () => Math.floor(Date.now() / 1000);

function claims(overrides: JWTPayload = {}): JWTPayload {
  const iat = nowSec();
  return { iss: issuer.issuer, aud: AUDIENCE, sub: 'lk_service', client_id: 'lk_service', scope: 'orders:read orders:write', iat, exp: iat + 600, jti: 'jti-1', ...overrides };
}

async function sign(key: SigningKey, payload: JWTPayload = claims(), header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header }).sign(key.privateKey);
}

function unsigned(header: Record<string, unknown>, payload: JWTPayload): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.`;
}

function verifierFor(overrides: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, ...overrides });
}

async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('expected a rejection, the token was accepted');
  return error as InvalidTokenError;
}

beforeAll(async () => {
  [es256, rs256, eddsa, attacker] = await Promise.all([
    signingKey('es-1', 'ES256'),
    signingKey('rs-1', 'RS256'),
    signingKey('ed-1', 'EdDSA'),
    signingKey('es-1', 'ES256'), // an attacker's key claiming the real kid
  ]);
  issuer = await startStandInIssuer();
  issuer.state.published = [es256.publicJwk, rs256.publicJwk, eddsa.publicJwk];
});

afterAll(async () => {
  await issuer?.stop();
});

describe('accepted tokens', () => {
  it.each([
    ['ES256', () => es256, {}],
    ['RS256', () => rs256, {}],
    ['EdDSA', () => eddsa, {}],
    ['typ application/at+jwt', () => es256, { typ: 'application/at+jwt' }],
    ['typ in upper case', () => es256, { typ: 'AT+JWT' }],
  ])('verifies %s and returns the claims with parsed scopes', async (_name, key, header) => {
    const token = await sign(key(), claims(), header);
    const verified = await verifierFor().verify(token, { requiredScopes: ['orders:read'] });
    expect(verified.claims).toMatchObject({ sub: 'lk_service', client_id: 'lk_service', aud: AUDIENCE, iss: issuer.issuer });
    expect(verified.scopes).toEqual(['orders:read', 'orders:write']);
    expect(verified.header).toMatchObject({ kid: key().kid, alg: key().alg });
  });

  it('accepts an audience list containing ours, and exp/nbf within the clock tolerance', async () => {
    const token = await sign(es256, claims({ aud: ['https://other.example.test', AUDIENCE], exp: nowSec() - 2, nbf: nowSec() + 2 }));
    await expect(verifierFor().verify(token)).resolves.toMatchObject({ claims: { sub: 'lk_service' } });
  });

  it('tries every published key that fits a token without kid', async () => {
    const standIn = await startStandInIssuer();
    try {
      const second = await signingKey('es-2', 'ES256');
      standIn.state.published = [es256.publicJwk, second.publicJwk];
      const verifier = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE });
      const withoutKid = (key: SigningKey) => new SignJWT(claims({ iss: standIn.issuer })).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(key.privateKey);
      await expect(verifier.verify(await withoutKid(second))).resolves.toMatchObject({ claims: { sub: 'lk_service' } });
      await expect(verifier.verify(await withoutKid(es256))).resolves.toMatchObject({ claims: { sub: 'lk_service' } });
      expect((await rejection(verifier.verify(await withoutKid(attacker)))).code).toBe('signature_invalid');
    } finally {
      await standIn.stop();
    }
  });

  it('treats a token without scope as carrying none', async () => {
    const { scope: _omitted, ...rest } = claims();
    const verified = await verifierFor().verify(await sign(es256, rest));
    expect(verified.scopes).toEqual([]);
  });
});

describe('refused tokens', () => {
  const cases: [string, () => Promise<string>, VerifyErrorCode][] = [
    ['an expired token', () => sign(es256, claims({ iat: nowSec() - 1200, exp: nowSec() - 60 })), 'token_expired'],
    ['a token not valid yet (nbf)', () => sign(es256, claims({ nbf: nowSec() + 120 })), 'token_not_yet_valid'],
    ['a wrong issuer', () => sign(es256, claims({ iss: 'https://evil.example.test' })), 'issuer_mismatch'],
    ['the issuer with a trailing slash', () => sign(es256, claims({ iss: `${issuer.issuer}/` })), 'issuer_mismatch'],
    ['a wrong audience', () => sign(es256, claims({ aud: 'https://billing.example.test/api' })), 'audience_mismatch'],
    ['a missing audience', () => sign(es256, claims({ aud: undefined })), 'audience_mismatch'],
    ['alg none', async () => unsigned({ alg: 'none', typ: 'at+jwt' }, claims()), 'algorithm_not_allowed'],
    [
      'HS256 signed with the public key as the secret',
      () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: es256.kid }).sign(new TextEncoder().encode(JSON.stringify(es256.publicJwk))),
      'algorithm_not_allowed',
    ],
    ['an algorithm outside the allowed list', async () => `${unsigned({ alg: 'ES384', typ: 'at+jwt', kid: 'es-1' }, claims())}c2ln`, 'algorithm_not_allowed'],
    ['an unknown kid (after the one refetch)', () => sign({ ...attacker, kid: 'made-up-kid' }), 'unknown_key'],
    ['a real kid with an alg its key does not have', () => sign(rs256, claims(), { kid: es256.kid }), 'unknown_key'],
    ['a forged signature under the real kid', () => sign(attacker), 'signature_invalid'],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await sign(es256, claims({ scope: 'orders:read' }))).split('.');
        return `${header}.${base64url.encode(JSON.stringify(claims({ scope: 'orders:read orders:admin' })))}.${signature}`;
      },
      'signature_invalid',
    ],
    ['an ID token (typ JWT, aud = client)', () => sign(es256, claims({ aud: AUDIENCE, nonce: 'n', auth_time: nowSec() }), { typ: 'JWT' }), 'wrong_token_type'],
    ['an ID token without typ', () => new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: es256.kid }).sign(es256.privateKey), 'wrong_token_type'],
    ['typ application/jwt', () => sign(es256, claims(), { typ: 'application/jwt' }), 'wrong_token_type'],
    ['a logout token typ', () => sign(es256, claims(), { typ: 'logout+jwt' }), 'wrong_token_type'],
    // RFC 9449 / RFC 8705: a bound token is only safe where the proof is checked, and this verifier checks none.
    ['a DPoP-bound token (cnf.jkt)', () => sign(es256, claims({ cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } })), 'sender_constrained'],
    ['a certificate-bound token (cnf x5t#S256)', () => sign(es256, claims({ cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } })), 'sender_constrained'],
    ['a token with an empty cnf', () => sign(es256, claims({ cnf: {} })), 'sender_constrained'],
    ['no client_id', () => sign(es256, claims({ client_id: undefined })), 'claim_invalid'],
    ['no exp', () => sign(es256, claims({ exp: undefined })), 'claim_invalid'],
    ['a non-string scope', () => sign(es256, claims({ scope: ['orders:read'] as unknown as string })), 'claim_invalid'],
    ['a non-string acr', () => sign(es256, claims({ acr: [MFA] })), 'claim_invalid'],
    ['an amr that is not a list', () => sign(es256, claims({ amr: 'pwd' })), 'claim_invalid'],
    ['an amr with a non-string method', () => sign(es256, claims({ amr: ['pwd', 2] })), 'claim_invalid'],
    ['not a JWT at all', async () => 'not-a-jwt', 'malformed_token'],
    ['two segments', async () => 'eyJhbGciOiJFUzI1NiJ9.e30', 'malformed_token'],
    ['a header that is not JSON', async () => 'bm90IGpzb24.e30.c2ln', 'malformed_token'],
    ['a payload that is not JSON', async () => `${(await sign(es256)).split('.')[0]}.bm90IGpzb24.c2ln`, 'signature_invalid'],
    ['an empty string', async () => '', 'malformed_token'],
    ['an enormous token', async () => `${'a'.repeat(9000)}.b.c`, 'malformed_token'],
    ['an encrypted JWT (five segments)', async () => 'a.b.c.d.e', 'malformed_token'],
  ];

  it.each(cases)('refuses %s', async (_name, build, code) => {
    const error = await rejection(verifierFor({ algorithms: ['ES256', 'RS256', 'EdDSA'] }).verify(await build()));
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect({ code: error.code, status: error.status, bearerError: error.bearerError }).toEqual({ code, status: 401, bearerError: 'invalid_token' });
  });

  it('refuses a token missing a required scope with 403 insufficient_scope', async () => {
    const error = await rejection(verifierFor().verify(await sign(es256, claims({ scope: 'orders:read' })), { requiredScopes: ['orders:read', 'orders:write'] }));
    expect({ code: error.code, status: error.status, bearerError: error.bearerError }).toEqual({ code: 'insufficient_scope', status: 403, bearerError: 'insufficient_scope' });
    expect((error as unknown as { requiredScopes: string[] }).requiredScopes).toEqual(['orders:read', 'orders:write']);
  });

  it('never puts anything from the token into the error message', async () => {
    const marker = 'MARKER-7d1c';
    for (const token of [await sign(es256, claims({ iss: marker })), await sign(es256, claims({ aud: marker })), await sign(es256, claims(), { typ: marker })]) {
      const error = await rejection(verifierFor().verify(token));
      expect(error.message).not.toContain(marker);
      expect(error.message).not.toContain(token.slice(0, 20));
    }
  });
});

describe('requireAcr (RFC 9470 step-up)', () => {
  const person = (acr?: string) => claims({ sub: 'ada', client_id: 'lk_web', ...(acr === undefined ? {} : { acr, amr: acr === MFA ? ['pwd', 'otp', 'mfa'] : ['pwd'] }) });
  const cases: [string, string | undefined, Partial<VerifierOptions>, VerifyOptions, 'ok' | VerifyErrorCode][] = [
    ['the MFA level where MFA is required', MFA, {}, { requireAcr: [MFA] }, 'ok'],
    ['the MFA level, required as a single string', MFA, {}, { requireAcr: MFA }, 'ok'],
    ['the password level where either level will do', PASSWORD, {}, { requireAcr: [PASSWORD, MFA] }, 'ok'],
    ['the password level where MFA is required', PASSWORD, {}, { requireAcr: [MFA] }, 'insufficient_acr'],
    ['no acr (a client-credentials token) where MFA is required', undefined, {}, { requireAcr: [MFA] }, 'insufficient_acr'],
    ['an acr differing only in case', MFA.toUpperCase(), {}, { requireAcr: [MFA] }, 'insufficient_acr'],
    ['an acr that merely starts with the required one', `${MFA}:weak`, {}, { requireAcr: [MFA] }, 'insufficient_acr'],
    ['the password level against the verifier default', PASSWORD, { requireAcr: [MFA] }, {}, 'insufficient_acr'],
    ['the MFA level against the verifier default', MFA, { requireAcr: MFA }, {}, 'ok'],
    ['the password level on a route that lowers the verifier default', PASSWORD, { requireAcr: [MFA] }, { requireAcr: [PASSWORD] }, 'ok'],
    ['no acr where nothing is required', undefined, {}, {}, 'ok'],
  ];

  it.each(cases)('%s', async (_name, acr, verifierOptions, verifyOptions, expected) => {
    const outcome = verifierFor(verifierOptions).verify(await sign(es256, person(acr)), verifyOptions);
    if (expected === 'ok') {
      await expect(outcome).resolves.toMatchObject({ claims: { sub: 'ada', ...(acr === undefined ? {} : { acr }) } });
      return;
    }
    const error = await rejection(outcome);
    expect(error).toBeInstanceOf(InsufficientUserAuthenticationError);
    expect({ code: error.code, status: error.status, bearerError: error.bearerError }).toEqual({ code: expected, status: 401, bearerError: 'insufficient_user_authentication' });
    expect((error as unknown as InsufficientUserAuthenticationError).requiredAcr).toEqual([MFA]);
  });

  it('is checked before the online check: a weak token costs the issuer no request', async () => {
    const credentials = { clientId: 'lk_orders', clientSecret: 'secret' };
    issuer.state.introspectionAnswer = { status: 200, body: { active: true } };
    const before = issuer.introspections.length;
    const error = await rejection(verifierFor({ introspect: credentials }).verify(await sign(es256, person(PASSWORD)), { introspect: true, requireAcr: [MFA] }));
    expect(error.code).toBe('insufficient_acr');
    expect(issuer.introspections.length).toBe(before);
  });

  it.each([
    ['an empty list', []],
    ['an empty value', ['']],
    ['a value with a space', ['urn:a urn:b']],
    ['a value with a quote', ['urn:"a']],
    ['a value with a backslash', ['urn:\\a']],
    ['a non-string value', [42]],
  ])('refuses %s, at construction and per call', async (_name, requireAcr) => {
    expect(() => verifierFor({ requireAcr: requireAcr as string[] })).toThrow(TypeError);
    await expect(verifierFor().verify(await sign(es256, person(MFA)), { requireAcr: requireAcr as string[] })).rejects.toThrow(TypeError);
  });
});

describe('options', () => {
  it.each([
    ['alg none', { algorithms: ['none'] }],
    ['HS256', { algorithms: ['HS256'] }],
    ['an empty algorithm list', { algorithms: [] }],
    ['a large clock tolerance', { clockToleranceSec: 600 }],
    ['a negative cooldown', { refetchCooldownMs: -1 }],
    ['an empty audience', { audience: '' }],
    ['an issuer that is not a URL', { issuer: 'latchkey' }],
    ['introspection without a secret', { introspect: { clientId: 'lk_rs', clientSecret: '' } }],
  ])('refuses %s at construction', (_name, overrides) => {
    expect(() => verifierFor(overrides as Partial<VerifierOptions>)).toThrow(TypeError);
  });

  it('refuses an algorithm the verifier was not configured for, even with a published key', async () => {
    const error = await rejection(verifierFor({ algorithms: ['ES256'] }).verify(await sign(rs256)));
    expect(error.code).toBe('algorithm_not_allowed');
  });
});

describe('plain http (keys in transit)', () => {
  /** What createVerifier threw, or undefined when it accepted the options. */
  function constructionError(overrides: Partial<VerifierOptions>): unknown {
    try {
      verifierFor(overrides);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  it.each([
    ['a public host', 'http://id.example.test'],
    ['a private address', 'http://10.0.0.5:3000'],
    ['a name that starts like localhost', 'http://localhost.example.test'],
    ['a name that starts like a loopback address', 'http://127.0.0.1.example.test'],
    ['an IPv6 address that is not ::1', 'http://[::2]:3000'],
    ['the unspecified address', 'http://0.0.0.0:3000'],
  ])('refuses an http issuer on %s at construction (insecure_url)', (_name, url) => {
    const error = constructionError({ issuer: url });
    expect(error).toBeInstanceOf(VerifyError);
    expect({ code: (error as VerifyError).code, field: (error as { field?: string }).field }).toEqual({ code: 'insecure_url', field: 'issuer' });
  });

  it.each([
    ['localhost', 'http://localhost:3000'],
    ['127.0.0.1', 'http://127.0.0.1:3000'],
    ['anywhere in 127.0.0.0/8', 'http://127.10.20.30'],
    ['::1', 'http://[::1]:3000'],
    ['https anywhere', 'https://id.example.test'],
  ])('accepts an issuer on %s', (_name, url) => {
    expect(constructionError({ issuer: url })).toBeUndefined();
  });

  it('accepts an http issuer on any host with allowInsecure: true', () => {
    expect(constructionError({ issuer: 'http://id.example.test', allowInsecure: true })).toBeUndefined();
  });

  /**
   * A fetch that notes every URL asked for. It fetches loopback URLs (the
   * stand-in issuer); any other host fails as an unreachable one would,
   * without a lookup leaving the machine.
   */
  function recordFetches() {
    const fetched: string[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      fetched.push(url);
      if (new URL(url).hostname !== '127.0.0.1') throw new TypeError(`fetch failed: ${new URL(url).hostname} is unreachable in this test`);
      return fetch(input, init);
    };
    return { fetched, recordingFetch };
  }

  it('refuses a discovered http jwks_uri on another host without fetching it, unless allowInsecure', async () => {
    const standIn = await startStandInIssuer({ jwksUri: 'http://keys.example.test/jwks' });
    try {
      standIn.state.published = [es256.publicJwk];
      const { fetched, recordingFetch } = recordFetches();
      const verifier = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE, fetch: recordingFetch });
      const token = await sign(es256, claims({ iss: standIn.issuer }));
      const error = await rejection(verifier.verify(token));
      expect({ code: error.code, status: error.status, field: (error as { field?: string }).field }).toEqual({ code: 'insecure_url', status: 503, field: 'jwks_uri' });
      await expect(verifier.preload()).rejects.toMatchObject({ code: 'insecure_url', field: 'jwks_uri' });
      expect(fetched.some((url) => url.includes('keys.example.test'))).toBe(false);

      // With allowInsecure the verifier goes on to fetch it (the host is unreachable here, so that fails).
      const lenient = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE, fetch: recordingFetch, allowInsecure: true, timeoutMs: 2000 });
      expect((await rejection(lenient.verify(token))).code).toBe('keys_unavailable');
      expect(fetched.some((url) => url.includes('keys.example.test'))).toBe(true);
    } finally {
      await standIn.stop();
    }
  });

  it('refuses to send its credentials to an http introspection_endpoint on another host', async () => {
    const standIn = await startStandInIssuer({ introspectionEndpoint: 'http://introspection.example.test/token/introspection' });
    try {
      standIn.state.published = [es256.publicJwk];
      const { fetched, recordingFetch } = recordFetches();
      const verifier = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE, fetch: recordingFetch, introspect: { clientId: 'lk_rs', clientSecret: 'secret' } });
      const token = await sign(es256, claims({ iss: standIn.issuer }));
      await expect(verifier.verify(token)).resolves.toBeDefined();
      const error = await rejection(verifier.verify(token, { introspect: true }));
      expect({ code: error.code, status: error.status, field: (error as { field?: string }).field }).toEqual({ code: 'insecure_url', status: 503, field: 'introspection_endpoint' });
      expect(fetched.some((url) => url.includes('introspection.example.test'))).toBe(false);
    } finally {
      await standIn.stop();
    }
  });
});

describe('the key cache', () => {
  it('discovers once and fetches the JWKS once for any number of tokens', async () => {
    const before = { jwks: issuer.jwksFetches(), metadata: issuer.metadataFetches() };
    const verifier = verifierFor();
    const tokens = await Promise.all([es256, rs256, eddsa, es256].map((key) => sign(key)));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    expect({ jwks: issuer.jwksFetches() - before.jwks, metadata: issuer.metadataFetches() - before.metadata }).toEqual({ jwks: 1, metadata: 1 });
  });

  it('rate-limits refetches: a flood of unknown kids costs one JWKS fetch per cooldown', async () => {
    let now = Date.now();
    const verifier = verifierFor({ refetchCooldownMs: 60_000, now: () => now });
    await verifier.verify(await sign(es256));
    const before = issuer.jwksFetches();

    const forged = await Promise.all(Array.from({ length: 40 }, (_, i) => sign({ ...attacker, kid: `bogus-${i}` })));
    const errors = await Promise.all(forged.map((token) => rejection(verifier.verify(token))));
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['unknown_key']));
    expect(issuer.jwksFetches() - before).toBe(1);

    for (const token of forged.slice(0, 10)) expect((await rejection(verifier.verify(token))).code).toBe('unknown_key');
    expect(issuer.jwksFetches() - before).toBe(1);

    now += 60_001;
    expect((await rejection(verifier.verify(forged[0]!))).code).toBe('unknown_key');
    expect(issuer.jwksFetches() - before).toBe(2);
  });

  it('learns a newly published key through the single refetch', async () => {
    const verifier = verifierFor();
    await verifier.verify(await sign(es256));
    const fresh = await signingKey('es-2', 'ES256');
    issuer.state.published = [...issuer.state.published, fresh.publicJwk];
    try {
      const before = issuer.jwksFetches();
      await expect(verifier.verify(await sign(fresh))).resolves.toMatchObject({ header: { kid: 'es-2' } });
      await verifier.verify(await sign(fresh));
      expect(issuer.jwksFetches() - before).toBe(1);
    } finally {
      issuer.state.published = issuer.state.published.filter((key) => key.kid !== 'es-2');
    }
  });

  it('drops a retired key once the cache is older than cacheMaxAgeMs (refreshed in the background)', async () => {
    let now = Date.now();
    const retiring = await signingKey('es-old', 'ES256');
    issuer.state.published = [...issuer.state.published, retiring.publicJwk];
    const verifier = verifierFor({ cacheMaxAgeMs: 600_000, refetchCooldownMs: 30_000, now: () => now });
    const token = await sign(retiring);
    await verifier.verify(token);
    issuer.state.published = issuer.state.published.filter((key) => key.kid !== 'es-old');

    now += 600_000;
    const before = issuer.jwksFetches();
    await verifier.verify(token); // served from the cache while the refresh runs
    await expect.poll(() => issuer.jwksFetches() - before).toBe(1);
    await expect.poll(async () => (await verifier.jwks()).keys.map((key) => key.kid)).not.toContain('es-old');
    expect((await rejection(verifier.verify(token))).code).toBe('unknown_key');
  });

  it('ignores symmetric keys and keys for encryption in a published set', async () => {
    const standIn = await startStandInIssuer();
    try {
      const secret = new TextEncoder().encode('a-shared-secret-of-32-bytes-long!');
      standIn.state.published = [{ kty: 'oct', k: base64url.encode(secret), kid: 'hmac', alg: 'HS256' }, { ...es256.publicJwk, kid: 'enc', use: 'enc' }];
      const verifier = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE, algorithms: ['ES256'] });
      const token = await new SignJWT(claims({ iss: standIn.issuer })).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'enc' }).sign(es256.privateKey);
      expect((await rejection(verifier.verify(token))).code).toBe('unknown_key');
      expect((await verifier.jwks()).keys).toEqual([]);
    } finally {
      await standIn.stop();
    }
  });
});

describe('when the issuer is unreachable', () => {
  it('keeps verifying with the cached keys, and refuses forgeries', async () => {
    const standIn = await startStandInIssuer();
    standIn.state.published = [es256.publicJwk];
    let now = Date.now();
    const verifier = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE, refetchCooldownMs: 1000, cacheMaxAgeMs: 1000, now: () => now });
    const token = await sign(es256, claims({ iss: standIn.issuer }));
    await verifier.verify(token);
    await standIn.stop();

    now += 5000; // the cache is stale and any refetch is allowed, but the issuer is gone
    await expect(verifier.verify(token)).resolves.toMatchObject({ claims: { sub: 'lk_service' } });
    expect((await rejection(verifier.verify(await sign({ ...attacker, kid: 'unknown' }, claims({ iss: standIn.issuer }))))).code).toBe('unknown_key');
    expect((await rejection(verifier.verify(await sign(attacker, claims({ iss: standIn.issuer }))))).code).toBe('signature_invalid');
    now += 5000;
    await expect(verifier.verify(token)).resolves.toMatchObject({ claims: { sub: 'lk_service' } });
  });

  it('answers keys_unavailable (503) when it never had keys, and retries only after the cooldown', async () => {
    const standIn = await startStandInIssuer();
    await standIn.stop();
    let now = Date.now();
    let attempts = 0;
    const countingFetch: typeof fetch = (input, init) => {
      attempts += 1;
      return fetch(input, init);
    };
    const verifier = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE, refetchCooldownMs: 10_000, fetch: countingFetch, now: () => now });
    const token = await sign(es256, claims({ iss: standIn.issuer }));

    const first = await rejection(verifier.verify(token));
    expect({ code: first.code, status: first.status }).toEqual({ code: 'keys_unavailable', status: 503 });
    const afterFirst = attempts;
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 5; i += 1) expect((await rejection(verifier.verify(token))).code).toBe('keys_unavailable');
    expect(attempts).toBe(afterFirst);
    now += 10_001;
    await rejection(verifier.verify(token));
    expect(attempts).toBeGreaterThan(afterFirst);
    await expect(verifier.preload()).rejects.toMatchObject({ code: 'keys_unavailable' });
  });
});

describe('discovery', () => {
  it('falls back to OpenID Connect discovery when RFC 8414 metadata is absent', async () => {
    const standIn = await startStandInIssuer({ metadataPath: '/.well-known/openid-configuration' });
    try {
      standIn.state.published = [es256.publicJwk];
      const verifier = createVerifier({ issuer: standIn.issuer, audience: AUDIENCE });
      await expect(verifier.verify(await sign(es256, claims({ iss: standIn.issuer })))).resolves.toBeDefined();
    } finally {
      await standIn.stop();
    }
  });

  it('refuses metadata that names another issuer', async () => {
    const verifier = createVerifier({ issuer: `${issuer.issuer}/`, audience: AUDIENCE });
    expect((await rejection(verifier.verify(await sign(es256, claims({ iss: `${issuer.issuer}/` }))))).code).toBe('keys_unavailable');
  });
});

describe('the optional online check (RFC 7662)', () => {
  const credentials = { clientId: 'lk_orders api', clientSecret: 's3cr:t/+=' };

  it('posts the token with the resource server credentials and accepts active: true', async () => {
    issuer.state.introspectionAnswer = { status: 200, body: { active: true, sub: 'lk_service' } };
    const token = await sign(es256);
    const verifier = verifierFor({ introspect: credentials });
    await expect(verifier.verify(token, { introspect: true })).resolves.toMatchObject({ claims: { sub: 'lk_service' } });
    const request = issuer.introspections.at(-1)!;
    const [id, secret] = Buffer.from(request.authorization!.replace(/^Basic /, ''), 'base64').toString().split(':').map((part) => decodeURIComponent(part.replace(/\+/g, '%20')));
    expect({ id, secret }).toEqual({ id: credentials.clientId, secret: credentials.clientSecret });
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ token, token_type_hint: 'access_token' });
  });

  it.each([
    ['active: false', { status: 200, body: { active: false } }, 'token_inactive', 401],
    ['active as a string', { status: 200, body: { active: 'true' } }, 'token_inactive', 401],
    ['an error status', { status: 400, body: { error: 'unsupported_token_type' } }, 'introspection_unavailable', 503],
    ['a server error', { status: 500, body: {} }, 'introspection_unavailable', 503],
  ])('refuses on %s', async (_name, answer, code, status) => {
    issuer.state.introspectionAnswer = answer;
    const error = await rejection(verifierFor({ introspect: credentials }).verify(await sign(es256), { introspect: true }));
    expect({ code: error.code, status: error.status }).toEqual({ code, status });
  });

  it('does not call the endpoint unless asked, and refuses to be asked without credentials', async () => {
    const before = issuer.introspections.length;
    await verifierFor({ introspect: credentials }).verify(await sign(es256));
    expect(issuer.introspections.length).toBe(before);
    await expect(verifierFor().verify(await sign(es256), { introspect: true })).rejects.toThrow(TypeError);
  });

  it('does not ask the issuer about a token that fails offline', async () => {
    const before = issuer.introspections.length;
    await rejection(verifierFor({ introspect: credentials }).verify(await sign(attacker), { introspect: true }));
    expect(issuer.introspections.length).toBe(before);
  });
});
