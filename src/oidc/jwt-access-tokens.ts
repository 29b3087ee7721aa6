// Decides, for introspection and revocation, whether a JWT is one of our
// access tokens and whether it is still active. oidc-provider cannot: it keeps
// no record of JWT access tokens. "Ours" means signed by a key in our live key
// set, `typ: at+jwt`, our `iss`, unexpired. "Active" additionally means: its
// `jti` is not on the revocation list, its client still exists, and, for a
// token issued from a person's grant, the grant it names (see
// grant-reference.ts) still exists, belongs to that client and person and has
// not expired (the same checks oidc-provider makes for opaque tokens), and the
// account is not disabled. Every doubt answers "inactive".
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Provider } from 'oidc-provider';
import type { AccountLookup } from './find-account.ts';
import { grantReference } from './grant-reference.ts';
import type { RevokedAccessTokens } from './revoked-access-tokens.ts';

/** What Latchkey signs access tokens with (src/keys/key-service.ts SIGNING_ALGS). */
const ACCESS_TOKEN_ALGS = ['ES256', 'RS256', 'EdDSA'];
// Compact JWS of a sane size; anything else is not ours and costs no key lookup.
const MAX_TOKEN_LENGTH = 8192;

export interface AccessTokenClaims extends JWTPayload {
  readonly jti: string;
  readonly sub: string;
  readonly client_id: string;
  readonly exp: number;
  readonly iat: number;
}

export interface JwtAccessTokensDeps {
  readonly issuer: string;
  /** The public keys of the live key set (what /jwks publishes). */
  readonly publicJwks: () => Promise<JSONWebKeySet>;
  readonly revoked: RevokedAccessTokens;
  readonly accounts: AccountLookup;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export function createJwtAccessTokens(deps: JwtAccessTokensDeps) {
  const now = deps.now ?? Date.now;
  // Importing keys costs more than the check: the resolver is rebuilt only when the key set changes.
  let cached: { fingerprint: string; resolve: ReturnType<typeof createLocalJWKSet> } | undefined;

  async function keyResolver() {
    const jwks = await deps.publicJwks();
    const fingerprint = jwks.keys.map((key) => key.kid).join(' ');
    if (cached?.fingerprint !== fingerprint) cached = { fingerprint, resolve: createLocalJWKSet(jwks) };
    return cached.resolve;
  }

  return {
    /** The claims of a valid, unexpired Latchkey JWT access token; undefined for anything else. */
    async verify(token: string): Promise<AccessTokenClaims | undefined> {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return undefined;
      try {
        const { payload } = await jwtVerify(token, await keyResolver(), {
          issuer: deps.issuer,
          typ: 'at+jwt',
          algorithms: ACCESS_TOKEN_ALGS,
          requiredClaims: ['jti', 'sub', 'client_id', 'exp', 'iat', 'aud'],
          currentDate: new Date(now()),
        });
        const claims = payload as AccessTokenClaims;
        if (typeof claims.jti !== 'string' || typeof claims.sub !== 'string' || typeof claims.client_id !== 'string') return undefined;
        return claims;
      } catch (error) {
        // jose's own rejections (bad signature, unknown kid, expired, wrong iss…) all mean "not an active token of ours".
        if (error instanceof joseErrors.JOSEError) return undefined;
        throw error;
      }
    },

    /** Whether verified claims still describe an active token (see the rules above). */
    async isActive(claims: AccessTokenClaims, provider: Provider): Promise<boolean> {
      if (await deps.revoked.isRevoked(claims.jti)) return false;
      if (!(await provider.Client.find(claims.client_id))) return false;

      const grantId = grantReference(claims);
      if (!grantId) {
        // Only client-credentials tokens (sub = the client itself) come without a grant.
        return claims.sub === claims.client_id;
      }
      const grant = await provider.Grant.find(grantId, { ignoreExpiration: true });
      // An exchanged token (RFC 8693, token-exchange.ts: it names its actor in `act`) goes to the
      // actor, under the grant of the person's token it was exchanged for, which another client holds.
      const exchanged = typeof claims.act === 'object' && claims.act !== null;
      if (!grant || grant.isExpired || (grant.clientId !== claims.client_id && !exchanged) || grant.accountId !== claims.sub) return false;
      const account = await deps.accounts.findById(claims.sub);
      return Boolean(account && !account.disabled);
    },
  };
}

export type JwtAccessTokens = ReturnType<typeof createJwtAccessTokens>;
