// @latchkey/verify's DPoP option (RFC 9449 §7) against tokens and proofs made
// here: one table of refusals, each with its exact error code (and reason),
// and what is accepted. The issuer is a stand-in served through the
// verifier's own `fetch` option; Latchkey's real tokens and proofs made by
// openid-client are in test/integration/dpop.test.ts.
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { authenticate, createVerifier, errorResponse, InvalidDpopProofError, InvalidTokenError, requireToken, VerifyError, type DpopOptions, type TokenState } from '../../packages/verify/src/index.ts';

const ISSUER = 'https://issuer.example.test';
const AUDIENCE = 'https://orders.example.test/api';
const URL_CALLED = 'https://orders.example.test/api/orders';

interface Key {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly jkt: string;
}

let signer: { privateKey: CryptoKey; jwk: JWK };
let holder: Key;
let stranger: Key;

async function key(alg: 'ES256' | 'RS256' = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

/** A stand-in issuer: metadata and one signing key, answered without a server. */
const standIn: typeof fetch = async (input) => {
  const url = String(input instanceof Request ? input.url : input);
  const body = url.endsWith('/jwks') ? { keys: [signer.jwk] } : { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` };
  return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
};

const nowSec = () => Math.floor(Date.now() / 1000);

async function accessToken(claims: JWTPayload = {}): Promise<string> {
  const iat = nowSec();
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', client_id: 'lk_app', scope: 'orders:read', iat, exp: iat + 300, cnf: { jkt: holder.jkt }, ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
    .sign(signer.privateKey);
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

interface ProofParts {
  readonly key?: Key;
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
}

async function proof(token: string, parts: ProofParts = {}): Promise<string> {
  const { privateKey, jwk } = parts.key ?? holder;
  return new SignJWT({ htm: 'GET', htu: URL_CALLED, iat: nowSec(), jti: randomUUID(), ath: ath(token), ...parts.claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...parts.header })
    .sign(privateKey);
}

function verifier(dpop: boolean | DpopOptions = true) {
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: standIn, dpop });
}

async function refusal(promise: Promise<unknown>): Promise<VerifyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof VerifyError)) throw new Error(`expected a VerifyError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  const signing = await generateKeyPair('ES256');
  signer = { privateKey: signing.privateKey, jwk: { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256' } };
  [holder, stranger] = await Promise.all([key(), key()]);
});

describe('a DPoP-bound token with its proof', () => {
  it('is accepted with the DPoP scheme and a proof for this request', async () => {
    const token = await accessToken();
    const verified = await authenticate(`DPoP ${token}`, { verifier: verifier() }, { proof: await proof(token), method: 'GET', url: `${URL_CALLED}?page=2` });
    expect(verified.claims.cnf).toEqual({ jkt: holder.jkt });
  });

  it('is accepted with an RS256 proof key and an htu differing only in query, fragment, case of host and default port', async () => {
    const rsa = await key('RS256');
    const token = await accessToken({ cnf: { jkt: rsa.jkt } });
    const made = await proof(token, { key: rsa, header: { alg: 'RS256' }, claims: { htu: 'https://ORDERS.example.test:443/api/orders?x=1#f' } });
    await expect(verifier().verify(token, { dpop: { scheme: 'DPoP', proof: made, method: 'GET', url: URL_CALLED } })).resolves.toBeTruthy();
  });

  it('still accepts plain Bearer tokens (no cnf) as Bearer', async () => {
    const token = await accessToken({ cnf: undefined });
    await expect(authenticate(`Bearer ${token}`, { verifier: verifier() }, { proof: undefined, method: 'GET', url: URL_CALLED })).resolves.toBeTruthy();
  });
});

describe('refused', () => {
  type Case = readonly [name: string, make: () => Promise<{ authorization: string; proof?: string | string[]; method?: string; url?: string; options?: boolean | DpopOptions }>, code: string, reason?: string];
  const cases: Case[] = [
    ['no proof', async () => ({ authorization: `DPoP ${await accessToken()}` }), 'invalid_dpop_proof', 'proof_missing'],
    ['two DPoP headers', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: [await proof(t), await proof(t)] }; }, 'invalid_dpop_proof', 'malformed_proof'],
    ['a proof that is not a JWT', async () => ({ authorization: `DPoP ${await accessToken()}`, proof: 'not-a-jwt' }), 'invalid_dpop_proof', 'malformed_proof'],
    ['typ JWT instead of dpop+jwt', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { header: { typ: 'JWT' } }) }; }, 'invalid_dpop_proof', 'wrong_proof_type'],
    ['an algorithm not allowed (ES256 only)', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t), options: { algorithms: ['EdDSA'] } }; }, 'invalid_dpop_proof', 'algorithm_not_allowed'],
    ['a private key in the jwk header', async () => { const t = await accessToken(); const priv = await exportJWK(holder.privateKey); return { authorization: `DPoP ${t}`, proof: await proof(t, { header: { jwk: priv } }) }; }, 'invalid_dpop_proof', 'private_key_in_proof'],
    ['a signature by another key than the jwk', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { key: { ...stranger, jwk: holder.jwk } }) }; }, 'invalid_dpop_proof', 'signature_invalid'],
    ['no jti', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { claims: { jti: undefined } }) }; }, 'invalid_dpop_proof', 'claim_invalid'],
    ['wrong htm', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t), method: 'POST' }; }, 'invalid_dpop_proof', 'htm_mismatch'],
    ['wrong htu (another path)', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { claims: { htu: 'https://orders.example.test/api/other' } }) }; }, 'invalid_dpop_proof', 'htu_mismatch'],
    ['wrong htu (another host)', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { claims: { htu: 'https://evil.example.test/api/orders' } }) }; }, 'invalid_dpop_proof', 'htu_mismatch'],
    ['an old iat (2 minutes, window 60 s)', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { claims: { iat: nowSec() - 120 } }) }; }, 'invalid_dpop_proof', 'iat_out_of_window'],
    ['an iat in the future', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { claims: { iat: nowSec() + 120 } }) }; }, 'invalid_dpop_proof', 'iat_out_of_window'],
    ['wrong ath (another token)', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { claims: { ath: ath('another token') } }) }; }, 'invalid_dpop_proof', 'ath_mismatch'],
    ['no ath', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { claims: { ath: undefined } }) }; }, 'invalid_dpop_proof', 'ath_mismatch'],
    ['wrong jkt (proof by another key)', async () => { const t = await accessToken(); return { authorization: `DPoP ${t}`, proof: await proof(t, { key: stranger }) }; }, 'dpop_binding_mismatch'],
    ['a bound token as Bearer (with a valid proof)', async () => { const t = await accessToken(); return { authorization: `Bearer ${t}`, proof: await proof(t) }; }, 'sender_constrained'],
    ['an unbound token with the DPoP scheme', async () => { const t = await accessToken({ cnf: undefined }); return { authorization: `DPoP ${t}`, proof: await proof(t) }; }, 'not_sender_constrained'],
    ['a certificate-bound token (cnf x5t#S256)', async () => { const t = await accessToken({ cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } }); return { authorization: `DPoP ${t}`, proof: await proof(t) }; }, 'sender_constrained'],
    ['a bound token when the verifier has no dpop option', async () => { const t = await accessToken(); return { authorization: `Bearer ${t}`, proof: await proof(t), options: false }; }, 'sender_constrained'],
  ];

  for (const [name, make, code, reason] of cases) {
    it(name, async () => {
      const { authorization, proof: dpop, method = 'GET', url = URL_CALLED, options = true } = await make();
      const error = await refusal(authenticate(authorization, { verifier: verifier(options) }, { proof: dpop, method, url }));
      expect(error.code).toBe(code);
      expect(error.status).toBe(401);
      if (reason) expect((error as InvalidDpopProofError).reason).toBe(reason);
    });
  }

  it('a replayed proof: the same jti twice (the first use accepted)', async () => {
    const check = verifier();
    const token = await accessToken();
    const made = await proof(token);
    const request = { proof: made, method: 'GET', url: URL_CALLED };
    await expect(authenticate(`DPoP ${token}`, { verifier: check }, request)).resolves.toBeTruthy();
    const error = await refusal(authenticate(`DPoP ${token}`, { verifier: check }, request));
    expect(error).toBeInstanceOf(InvalidDpopProofError);
    expect((error as InvalidDpopProofError).reason).toBe('jti_replayed');
    // Another verifier (another instance) has its own cache.
    await expect(authenticate(`DPoP ${token}`, { verifier: verifier() }, request)).resolves.toBeTruthy();
  });

  it('a refused proof does not burn its jti', async () => {
    const check = verifier();
    const token = await accessToken();
    const made = await proof(token);
    await refusal(authenticate(`DPoP ${token}`, { verifier: check, scopes: ['orders:read'] }, { proof: made, method: 'POST', url: URL_CALLED }));
    await expect(authenticate(`DPoP ${token}`, { verifier: check }, { proof: made, method: 'GET', url: URL_CALLED })).resolves.toBeTruthy();
  });

  it('keeps at most replayCacheSize proofs, the oldest forgotten first', async () => {
    const check = verifier({ replayCacheSize: 2 });
    const token = await accessToken();
    const proofs = [await proof(token), await proof(token), await proof(token)];
    for (const made of proofs) await authenticate(`DPoP ${token}`, { verifier: check }, { proof: made, method: 'GET', url: URL_CALLED });
    // The newest two are remembered; the first was evicted by the bound.
    expect((await refusal(authenticate(`DPoP ${token}`, { verifier: check }, { proof: proofs[2]!, method: 'GET', url: URL_CALLED })) as InvalidDpopProofError).reason).toBe('jti_replayed');
    await expect(authenticate(`DPoP ${token}`, { verifier: check }, { proof: proofs[0]!, method: 'GET', url: URL_CALLED })).resolves.toBeTruthy();
  });

  it('refuses bad options at construction', () => {
    expect(() => verifier({ maxAgeSec: 0 })).toThrow(TypeError);
    expect(() => verifier({ replayCacheSize: 0 })).toThrow(TypeError);
    expect(() => verifier({ algorithms: ['HS256' as never] })).toThrow(TypeError);
  });
});

describe('the challenge', () => {
  it('is DPoP with algs and the error, then Bearer without it, for a proof refused', async () => {
    const token = await accessToken();
    const check = verifier();
    const error = await refusal(authenticate(`DPoP ${token}`, { verifier: check }, { proof: undefined, method: 'GET', url: URL_CALLED }));
    const response = errorResponse(error, { dpopAlgorithms: check.dpopAlgorithms! });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_dpop_proof');
    expect(response.headers['www-authenticate']).toBe(`DPoP algs="ES256 EdDSA Ed25519 PS256 RS256", error="invalid_dpop_proof", error_description="${error.message}", Bearer`);
  });

  it('carries each refusal\'s description unchanged in the header (messages are plain ASCII, which a quoted-string can hold)', async () => {
    const token = await accessToken();
    const check = verifier();
    const cases = [
      async () => authenticate(`DPoP ${token}`, { verifier: check }, { proof: await proof(token, { key: stranger }), method: 'GET', url: URL_CALLED }),
      () => authenticate(`Bearer ${token}`, { verifier: check }),
      () => authenticate(`DPoP ${token}`, { verifier: check }, { proof: undefined, method: 'GET', url: URL_CALLED }),
    ];
    for (const refused of cases) {
      const error = await refusal(refused());
      expect(errorResponse(error, { dpopAlgorithms: check.dpopAlgorithms! }).headers['www-authenticate']).toContain(`error_description="${error.message}"`);
    }
  });

  it('names invalid_token on both schemes for an expired token', async () => {
    const token = await accessToken({ exp: nowSec() - 60, iat: nowSec() - 600, cnf: undefined });
    const error = await refusal(authenticate(`Bearer ${token}`, { verifier: verifier() }));
    expect(error).toBeInstanceOf(InvalidTokenError);
    const header = errorResponse(error, { dpopAlgorithms: ['ES256'] }).headers['www-authenticate']!;
    expect(header.startsWith('DPoP algs="ES256", error="invalid_token"')).toBe(true);
    expect(header).toContain(', Bearer error="invalid_token"');
  });

  it('stays Bearer only without the dpop option, where a DPoP scheme counts as no token', async () => {
    const token = await accessToken();
    const error = await refusal(authenticate(`DPoP ${token}`, { verifier: verifier(false) }));
    expect(error.code).toBe('token_missing');
    expect(errorResponse(error).headers['www-authenticate']).toBe('Bearer');
  });
});

describe('the Koa middleware: which URL a proof must name', () => {
  /** A Koa app behind requireToken; resolves with what GET `path` answers for a proof naming `htu`. */
  async function serve(options: { publicUrl?: string; proxy?: boolean }, path: string, htu: (local: string) => string, headers: Record<string, string> = {}) {
    const app = new Koa<TokenState>();
    app.proxy = options.proxy ?? false;
    app.use(requireToken({ verifier: verifier(), ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}) }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.token.claims.sub };
    });
    const listening = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listening.once('listening', resolve));
    const local = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    try {
      const token = await accessToken();
      const made = await proof(token, { claims: { htu: htu(local) } });
      const response = await fetch(`${local}${path}?page=1`, { headers: { authorization: `DPoP ${token}`, dpop: made, ...headers } });
      return { status: response.status, body: (await response.json()) as { error?: string; error_description?: string } };
    } finally {
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    }
  }

  it('is the request’s own protocol, host and path by default (query ignored)', async () => {
    expect((await serve({}, '/orders', (local) => `${local}/orders`)).status).toBe(200);
    expect((await serve({}, '/orders', () => 'https://orders.example.test/orders')).body.error).toBe('invalid_dpop_proof');
  });

  it('believes X-Forwarded-Proto and -Host only with app.proxy', async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'orders.example.test' };
    expect((await serve({ proxy: true }, '/orders', () => 'https://orders.example.test/orders', forwarded)).status).toBe(200);
    expect((await serve({ proxy: false }, '/orders', () => 'https://orders.example.test/orders', forwarded)).status).toBe(401);
  });

  it('is publicUrl + the path when given (a proxy that strips a prefix)', async () => {
    expect((await serve({ publicUrl: 'https://example.test/orders-service/' }, '/orders', () => 'https://example.test/orders-service/orders')).status).toBe(200);
    expect(() => requireToken({ verifier: verifier(), publicUrl: 'ftp://example.test' })).toThrow(TypeError);
  });
});
