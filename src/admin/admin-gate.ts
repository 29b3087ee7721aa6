// The bearer gate of /admin/v1: every route but the OpenAPI document demands
// a Latchkey JWT access token for the admin resource carrying exactly the
// route's scope, checked with @latchkey/verify like any resource server would,
// and then one check no resource server can make: that its client, and the
// person it was issued for, still stand where it says (caller-standing.ts).
// The verifier reads the issuer's metadata and keys in-process (a fetch
// answered by the key service) instead of over the network, and is built at
// the first admin request, so the hot paths never pay for it. Refusals are
// RFC 6750 challenges (realm "latchkey-admin") on RFC 9457 bodies.
import { authenticate, bearerChallenge, createVerifier, VerifyError, type AccessTokenClaims, type Verifier } from '@latchkey/verify';
import type { Middleware } from 'koa';
import type { JWK } from 'jose';
import { adminResourceIdentifier, type AdminScope } from '../resources/admin-resource.ts';
import type { CallerStanding, StandingOf } from './caller-standing.ts';
import { ProblemError } from './problem.ts';

export const ADMIN_REALM = 'latchkey-admin';

export interface AdminGateDeps {
  readonly issuer: string;
  /** What /jwks serves: the public keys tokens may be signed with. */
  readonly publicJwks: () => Promise<{ keys: JWK[] }>;
  /** Whether the token's client and person still stand where it says (caller-standing.ts). */
  readonly standingOf: StandingOf;
}

/** Who is calling, from the verified token; routes read it from ctx.state.admin. */
export interface AdminCaller {
  /**
   * The audit actor: the token's `sub`, which is the client_id for a
   * client-credentials token and the person's account id otherwise.
   */
  readonly actor: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly claims: AccessTokenClaims;
}

// The verifier's own path to the keys: fixed, because nothing travels over a network.
const JWKS_PATH = '/jwks';

export function createAdminGate({ issuer, publicJwks, standingOf }: AdminGateDeps) {
  let verifier: Verifier | undefined;

  /** In-process "HTTP": the metadata names the JWKS, the JWKS comes from the key service. */
  const fetchInProcess: typeof globalThis.fetch = async (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname.endsWith('/.well-known/oauth-authorization-server') || url.pathname.endsWith('/.well-known/openid-configuration')) {
      return Response.json({ issuer, jwks_uri: `${issuer}${JWKS_PATH}` });
    }
    if (url.href === `${issuer}${JWKS_PATH}`) return Response.json(await publicJwks());
    return new Response(null, { status: 404 });
  };

  function verifierNow(): Verifier {
    verifier ??= createVerifier({
      issuer,
      audience: adminResourceIdentifier(issuer),
      fetch: fetchInProcess,
      // Nothing goes over a network, so plain http (a development issuer) exposes nothing.
      allowInsecure: true,
      // A key rotated in by another instance is seen at its first token: an unknown kid refetches, cheaply.
      refetchCooldownMs: 1000,
      cacheMaxAgeMs: 60_000,
    });
    return verifier;
  }

  return {
    /** The middleware that lets through only a valid admin token carrying `scope`. */
    requireScope(scope: AdminScope): Middleware {
      return async (ctx, next) => {
        let claims: AccessTokenClaims;
        let scopes: readonly string[];
        try {
          ({ claims, scopes } = await authenticate(ctx.req.headersDistinct.authorization, { verifier: verifierNow(), scopes: [scope] }));
        } catch (error) {
          if (error instanceof VerifyError) throw refusal(error);
          throw error;
        }
        const standing = await standingOf({ clientId: claims.client_id, subject: claims.sub }, scope);
        if (standing !== 'current') throw outstood(standing, scope);
        const caller: AdminCaller = { actor: claims.sub, clientId: claims.client_id, scopes, claims };
        ctx.state.admin = caller;
        await next();
      };
    },
  };
}

export type AdminGate = ReturnType<typeof createAdminGate>;

const OUTSTOOD: Readonly<Record<Exclude<CallerStanding, 'current' | 'role_forbids'>, string>> = {
  client_gone: 'The client this token was issued to no longer exists.',
  account_gone: 'The account this token was issued for no longer exists.',
  account_disabled: 'The account this token was issued for is disabled.',
};

/** A valid token whose caller no longer stands where it says: invalid_token, or insufficient_scope when only the role changed. */
function outstood(standing: Exclude<CallerStanding, 'current'>, scope: AdminScope): ProblemError {
  if (standing === 'role_forbids') {
    const detail = `The account's role no longer allows ${scope}.`;
    return new ProblemError(403, 'insufficient_scope', detail, { headers: { 'WWW-Authenticate': `Bearer realm="${ADMIN_REALM}", error="insufficient_scope", error_description="${detail}", scope="${scope}"` } });
  }
  const detail = OUTSTOOD[standing];
  return new ProblemError(401, 'invalid_token', detail, { headers: { 'WWW-Authenticate': `Bearer realm="${ADMIN_REALM}", error="invalid_token", error_description="${detail}"` } });
}

function refusal(error: VerifyError): ProblemError {
  if (error.status === 503) return new ProblemError(503, 'service_unavailable', 'The signing keys cannot be read now; try again shortly.', { headers: { 'Retry-After': '5' } });
  if (error.bearerError === 'insufficient_scope') {
    return new ProblemError(403, 'insufficient_scope', error.message, { headers: { 'WWW-Authenticate': bearerChallenge(error, { realm: ADMIN_REALM })! } });
  }
  // No token at all gets the bare challenge (RFC 6750 §3.1); everything else about the token is invalid_token.
  const challenge =
    error.bearerError === undefined
      ? `Bearer realm="${ADMIN_REALM}"`
      : `Bearer realm="${ADMIN_REALM}", error="invalid_token", error_description="${error.message.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;
  const detail = error.bearerError === undefined ? 'This operation needs a bearer access token for the admin resource.' : error.message;
  return new ProblemError(401, 'invalid_token', detail, { headers: { 'WWW-Authenticate': challenge } });
}
