// Signs a logout token (OpenID Connect Back-Channel Logout 1.0 §2.4) at the
// moment it is delivered, never before: a notice that waited hours for its RP
// goes out with a fresh iat and exp, a jti of its own, and the key signing
// now (a key retired meanwhile is never used). iss, aud (the client), sub,
// sid when known, the back-channel event, no nonce, and the `logout+jwt`
// type the spec's §2.4 asks for, so a logout token cannot pass for an ID token.
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * What logout tokens are signed with: the algorithm of the client's ID
 * tokens, as the RP verifies both alike. Every client Latchkey registers
 * has oidc-provider's default from provider.ts (clientDefaults), RS256.
 */
export const LOGOUT_TOKEN_ALG = 'RS256';

/** Two minutes: long enough for clock skew and a slow RP, short enough that a captured token is soon worthless. */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;

export interface LogoutTokenSignerDeps {
  readonly issuer: string;
  /** The private signing keys in signing order (key-service.ts signingJwks): the first of an alg signs. */
  readonly signingJwks: () => Promise<{ keys: JWK[] }>;
  readonly now?: () => Date;
}

export interface LogoutTokenClaims {
  readonly clientId: string;
  readonly accountId: string;
  readonly sid: string | null;
}

export function createLogoutTokenSigner({ issuer, signingJwks, now = () => new Date() }: LogoutTokenSignerDeps) {
  // Imported once per key (a kid is the key's thumbprint: the same kid is the same key).
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();

  return {
    async sign({ clientId, accountId, sid }: LogoutTokenClaims): Promise<string> {
      const jwk = (await signingJwks()).keys.find((key) => key.alg === LOGOUT_TOKEN_ALG);
      if (!jwk?.kid) throw new Error(`no ${LOGOUT_TOKEN_ALG} signing key`);
      let key = imported.get(jwk.kid);
      if (!key) imported.set(jwk.kid, (key = importJWK(jwk, LOGOUT_TOKEN_ALG)));
      const iat = Math.floor(now().getTime() / 1000);
      return new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, ...(sid !== null && { sid }) })
        .setProtectedHeader({ alg: LOGOUT_TOKEN_ALG, kid: jwk.kid, typ: 'logout+jwt' })
        .setIssuer(issuer)
        .setAudience(clientId)
        .setSubject(accountId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + LOGOUT_TOKEN_TTL_SECONDS)
        .setJti(randomUUID())
        .sign(await key);
    },
  };
}

export type LogoutTokenSigner = ReturnType<typeof createLogoutTokenSigner>;
