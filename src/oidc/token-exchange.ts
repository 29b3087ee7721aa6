// OAuth 2.0 Token Exchange (RFC 8693), one service calling another on a
// person's behalf: service A (a confidential client, authenticated at /token
// like any other) presents the person's access token it was called with and
// gets one for service B. Registered through oidc-provider's custom grant
// type API (provider.registerGrantType); every rule of the grant is here.
//
// - The subject token must be a Latchkey JWT access token, checked offline
//   against our own live keys (jwt-access-tokens.ts: signature, `typ`,
//   issuer, expiry), still active (not revoked, its grant and person still
//   there), naming a person (not a client-credentials token), and issued for
//   one of A's own registered resources: A may pass on only what was sent
//   to it. Anything else is invalid_grant.
// - The target (`resource` or `audience`, one of them, once) must be a
//   registered resource on A's allow-list (token_exchange_audiences, set by
//   `latchkey client create --token-exchange-audience`); else invalid_target.
// - Scopes are narrowed, never widened: requested ∩ the subject token's ∩ B's
//   ∩ what A is registered for. A requested scope outside any of them is
//   invalid_scope; none requested means all of that intersection.
// - The new token is an oidc-provider AccessToken for B's resource server
//   (resource-indicators.ts resourceServerOf), so its format, algorithm and
//   lifetime are B's like every other token for B. It names the person
//   (`sub`), A as the actor (`act: { sub: A }`, the subject token's own
//   `act` nested inside), carries how the person signed in (`acr`, `amr`,
//   `auth_time`) and the grant the subject token came from (grant_id), so
//   ending that grant ends the exchanged token too. No refresh token.
// - Audited as token.exchanged; no token is ever logged.
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { AuditService } from '../audit/audit-service.ts';
import { grantReference } from './grant-reference.ts';
import type { AccessTokenClaims, JwtAccessTokens } from './jwt-access-tokens.ts';
import { registeredResources, registeredResourceScopes, resourceServerOf, type ResourceLookup } from './resource-indicators.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const PARAMETERS = ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'resource', 'audience', 'scope'];
// Repeated targets are answered invalid_target below (one target per token), not as a malformed request.
const DUPLICATES = ['resource', 'audience'];

export interface TokenExchangeDeps {
  readonly resources: ResourceLookup;
  readonly accessTokens: Pick<JwtAccessTokens, 'verify' | 'isActive'>;
  readonly audit: Pick<AuditService, 'record'>;
}

/** The audiences a client may exchange tokens for (client metadata token_exchange_audiences). */
export function tokenExchangeAudiences(client: unknown): string[] {
  const value = (client as { tokenExchangeAudiences?: unknown; token_exchange_audiences?: unknown } | undefined);
  const list = value?.tokenExchangeAudiences ?? value?.token_exchange_audiences;
  return Array.isArray(list) ? list.filter((v): v is string => typeof v === 'string') : [];
}

function audiences(claims: AccessTokenClaims): string[] {
  const { aud } = claims;
  return typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
}

function spaced(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter(Boolean) : [];
}

function oneTarget(params: Record<string, unknown>): string {
  const given = [params.resource, params.audience].flatMap((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]));
  if (given.some((value) => typeof value !== 'string' || value === '')) throw new errors.InvalidRequest('resource and audience must be non-empty strings');
  // The same service named as resource and as audience is still one target.
  const targets = [...new Set(given as string[])];
  if (targets.length === 0) throw new errors.InvalidRequest('resource or audience is required: the service the token is for');
  if (targets.length > 1) throw new errors.InvalidTarget('only one resource or audience may be requested');
  return targets[0]!;
}

/** RFC 8693 §4.1: the actor, with whoever acted before it nested inside. */
function actorClaim(clientId: string, previous: unknown): Record<string, unknown> {
  return previous && typeof previous === 'object' && !Array.isArray(previous) ? { sub: clientId, act: previous } : { sub: clientId };
}

// What each exchanged token says beyond oidc-provider's own claims, until it is signed: handed
// over through the documented extraTokenClaims hook (provider.ts), which owns a token's `extra`.
const exchangeClaims = new WeakMap<object, Record<string, unknown>>();

/** For oidc-provider's `extraTokenClaims`: act, acr, amr, auth_time of an exchanged token; nothing for any other. */
export function exchangedTokenClaims(token: object): Record<string, unknown> | undefined {
  return exchangeClaims.get(token);
}

export function exchangeTokens(provider: Provider, deps: TokenExchangeDeps): void {
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, (ctx) => exchange(provider, deps, ctx), PARAMETERS, DUPLICATES);
}

async function exchange(provider: Provider, deps: TokenExchangeDeps, ctx: KoaContextWithOIDC): Promise<void> {
  const client = ctx.oidc.client!;
  const params = ctx.oidc.params as Record<string, unknown>;
  // It acts on someone else's token: only a client that proved who it is may (RFC 8693 §2.1).
  if (client.clientAuthMethod === 'none') throw new errors.UnauthorizedClient('a public client cannot exchange tokens');

  // Exchanged tokens are Bearer only; a client registered for DPoP-bound tokens alone gets none (client-validation.ts refuses the pair too).
  if ((client as { dpopBoundAccessTokens?: unknown }).dpopBoundAccessTokens === true) throw new errors.UnauthorizedClient('token exchange issues Bearer tokens only, and this client must bind its tokens with DPoP');
  if (typeof params.subject_token !== 'string' || params.subject_token === '') throw new errors.InvalidRequest('missing required parameter subject_token');
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  if (params.actor_token !== undefined || params.actor_token_type !== undefined) throw new errors.InvalidRequest('actor_token is not supported: the actor is the authenticated client');
  if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  const target = oneTarget(params);

  const claims = await deps.accessTokens.verify(params.subject_token);
  if (!claims) throw new errors.InvalidGrant('subject_token is not a valid access token of this issuer');
  if (claims.sub === claims.client_id) throw new errors.InvalidGrant('subject_token does not name a person');
  const from = audiences(claims);
  const own = registeredResources(client);
  if (!from.some((aud) => own.includes(aud))) throw new errors.InvalidGrant('subject_token was not issued for a resource of this client');
  const grantId = grantReference(claims);
  if (!grantId || !(await deps.accessTokens.isActive(claims, provider))) throw new errors.InvalidGrant('subject_token is no longer active');

  if (!tokenExchangeAudiences(client).includes(target)) throw new errors.InvalidTarget('client is not allowed to exchange tokens for this audience');
  const resource = await deps.resources.findByIdentifier(target);
  if (!resource) throw new errors.InvalidTarget('resource indicator is not registered');

  const held = new Set(spaced(claims.scope));
  const clientScopes = registeredResourceScopes(client);
  const allowed = resource.scopes.filter((scope) => held.has(scope) && clientScopes.has(scope));
  const requested = spaced(params.scope);
  const widened = requested.find((scope) => !allowed.includes(scope));
  if (widened !== undefined) throw new errors.InvalidScope('requested scope is not held by the subject token or not allowed for this audience', widened);
  const scopes = requested.length ? [...new Set(requested)] : allowed;
  if (scopes.length === 0) throw new errors.InvalidScope('the subject token holds no scope this client may pass on to this audience', '');

  const extra: Record<string, unknown> = { act: actorClaim(client.clientId, claims.act) };
  if (typeof claims.acr === 'string') extra.acr = claims.acr;
  if (Array.isArray(claims.amr)) extra.amr = claims.amr;
  if (typeof claims.auth_time === 'number') extra.auth_time = claims.auth_time;

  const token = new provider.AccessToken({
    accountId: claims.sub,
    client,
    grantId,
    scope: scopes.join(' '),
    gty: 'token_exchange',
  });
  exchangeClaims.set(token, extra);
  // What oidc-provider's own resolution would have made of B (a ResourceServerInstance).
  token.resourceServer = { ...resourceServerOf(resource, allowed), scopes: new Set(allowed), identifier: () => resource.identifier };
  ctx.oidc.entity('AccessToken', token);
  const value = await token.save();

  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };

  const requestId = (ctx.state as { requestId?: unknown }).requestId;
  deps.audit.record({
    type: 'token.exchanged',
    actor: client.clientId,
    subject: claims.sub,
    clientId: client.clientId,
    ip: ctx.ip,
    ...(typeof requestId === 'string' && { requestId }),
    details: { from, to: resource.identifier, scope: scopes },
  });
}
