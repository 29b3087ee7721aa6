// Dynamic client registration at /reg (RFC 7591) and each registered client's
// configuration endpoint /reg/{client_id} (RFC 7592: GET, PUT, DELETE with its
// registration access token). Clients are made, changed and removed by the
// client service, so a registration passes exactly the rules of
// `latchkey client create` (exact redirect URIs, PKCE, allowed grant types,
// the secret kept as a digest); oidc-provider's own registration feature
// stays off and never writes a client. With LATCHKEY_REGISTRATION=off these
// routes are not mounted and /reg is a 404 like any unknown path.
import type { Context, Middleware } from 'koa';
import type { AuditService } from '../audit/audit-service.ts';
import { clientJson, toRegistration, toUpdate, type ClientBody } from '../clients/client-metadata-json.ts';
import type { ClientService, ClientView } from '../clients/client-service.ts';
import type { RegistrationMode } from '../config/config.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { readJson } from '../http/json-body.ts';
import { REGISTRATION_PATH } from './registration-path.ts';
import { parseRegistrationMetadata, registrationErrorCode } from './registration-metadata.ts';
import type { RegistrationTokens } from './registration-tokens.ts';

export interface RegistrationRoutesDeps {
  readonly mode: Exclude<RegistrationMode, 'off'>;
  readonly issuer: string;
  readonly clients: Pick<ClientService, 'create' | 'get' | 'update' | 'delete'>;
  readonly tokens: RegistrationTokens;
  readonly audit: Pick<AuditService, 'record'>;
}

/** The fields a PUT replaces (RFC 7592 §2.2: omitted means removed); the name, grant types, auth method and operator-given resources stay when omitted. */
const REPLACED_ON_PUT = [
  'redirect_uris',
  'post_logout_redirect_uris',
  'scope',
  'jwks_uri',
  'backchannel_logout_uri',
  'require_verified_email',
  'require_mfa',
  'client_uri',
  'logo_uri',
  'tos_uri',
  'policy_uri',
  'contacts',
  'require_pushed_authorization_requests',
  'dpop_bound_access_tokens',
] as const;

export function registrationRoutes(deps: RegistrationRoutesDeps): Middleware {
  const { clients, tokens, audit } = deps;

  /** RFC 7591 §3.2.1 / RFC 7592 §3: the metadata as registered, without Latchkey's bookkeeping. */
  function registrationJson(client: ClientView, extra: { clientSecret?: string; registrationAccessToken?: string } = {}) {
    const { client_secret_set: secretSet, created_at: _created, updated_at: _updated, ...metadata } = clientJson(client);
    return {
      ...metadata,
      client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
      ...(extra.clientSecret !== undefined && { client_secret: extra.clientSecret }),
      ...(secretSet && { client_secret_expires_at: 0 }),
      ...(extra.registrationAccessToken !== undefined && { registration_access_token: extra.registrationAccessToken }),
      registration_client_uri: `${deps.issuer}${REGISTRATION_PATH}/${encodeURIComponent(client.clientId)}`,
    };
  }

  const eventContext = (ctx: Context) => ({ ip: ctx.ip, ...(typeof ctx.state.requestId === 'string' && { requestId: ctx.state.requestId }) });

  async function register(ctx: Context): Promise<void> {
    let initial: { key: string; id: string } | undefined;
    if (deps.mode === 'initial-access-token') {
      const token = bearer(ctx);
      const check = token === undefined ? { valid: false as const } : await tokens.checkInitial(token);
      if (!check.valid) return invalidToken(ctx, token === undefined ? 'an initial access token is required to register a client' : 'the initial access token is unknown, expired or used');
      initial = check;
    }
    const body = await readBody(ctx);
    if (body === undefined) return;
    const { client, clientSecret } = await clients.create(toRegistration(parseRegistrationMetadata(body)));
    // Used up only once the client exists, so a refused registration can be fixed and sent again;
    // of two registrations racing with one token, the loser's client is removed again.
    if (initial && !(await tokens.consumeInitial(initial.key))) {
      await clients.delete(client.clientId);
      return invalidToken(ctx, 'the initial access token is unknown, expired or used');
    }
    const registrationAccessToken = await tokens.issueRegistration(client.clientId);
    audit.record({
      ...eventContext(ctx),
      type: 'client.registered',
      actor: initial?.id ?? null,
      subject: client.clientId,
      clientId: client.clientId,
      details: { name: client.name, public: client.public, grantTypes: client.grantTypes, redirectUris: client.redirectUris, ...(initial && { initialAccessToken: initial.id }) },
    });
    ctx.set('Location', `${deps.issuer}${REGISTRATION_PATH}/${encodeURIComponent(client.clientId)}`);
    reply(ctx, 201, registrationJson(client, { ...(clientSecret !== undefined && { clientSecret }), registrationAccessToken }));
  }

  /** The client of /reg/{client_id} when the request carries its registration access token; otherwise answered 401. */
  async function authorized(ctx: Context, clientId: string): Promise<ClientView | undefined> {
    const token = bearer(ctx);
    if (token === undefined || !(await tokens.matchesRegistration(token, clientId))) {
      invalidToken(ctx, 'the registration access token is missing or not this client\'s');
      return undefined;
    }
    try {
      return await clients.get(clientId);
    } catch (error) {
      // Deleted another way (`latchkey client delete`): its token goes with it (RFC 7592 §2.1).
      if (!(error instanceof NotFoundError)) throw error;
      await tokens.revokeRegistration(token);
      invalidToken(ctx, 'the registration access token is missing or not this client\'s');
      return undefined;
    }
  }

  async function configure(ctx: Context, clientId: string): Promise<void> {
    const current = await authorized(ctx, clientId);
    if (!current) return;
    if (ctx.method === 'GET') return reply(ctx, 200, registrationJson(current));
    if (ctx.method === 'DELETE') {
      await clients.delete(clientId);
      await tokens.revokeRegistration(bearer(ctx)!);
      audit.record({ ...eventContext(ctx), type: 'client.deleted', actor: clientId, subject: clientId, clientId, details: { name: current.name, via: 'registration' } });
      ctx.status = 204;
      ctx.set('Cache-Control', 'no-store');
      return;
    }
    const body = await readBody(ctx);
    if (body === undefined) return;
    const given = body as Record<string, unknown>;
    if (given.client_id !== undefined && given.client_id !== clientId) throw new InvalidInputError('client_id does not match the client being changed', { field: 'client_id' });
    const metadata = parseRegistrationMetadata(body);
    const replaced: ClientBody = { ...Object.fromEntries(REPLACED_ON_PUT.map((field) => [field, null])), ...metadata };
    const { client, clientSecret } = await clients.update(clientId, toUpdate(replaced));
    audit.record({ ...eventContext(ctx), type: 'client.updated', actor: clientId, subject: clientId, clientId, details: { fields: Object.keys(metadata), via: 'registration' } });
    reply(ctx, 200, registrationJson(client, clientSecret !== undefined ? { clientSecret } : {}));
  }

  return async (ctx, next) => {
    const rest = ctx.path === REGISTRATION_PATH ? '' : ctx.path.startsWith(`${REGISTRATION_PATH}/`) ? ctx.path.slice(REGISTRATION_PATH.length + 1) : undefined;
    if (rest === undefined) return next();
    try {
      if (rest === '') {
        if (ctx.method !== 'POST') return methodNotAllowed(ctx, 'POST');
        return await register(ctx);
      }
      if (!['GET', 'PUT', 'DELETE'].includes(ctx.method)) return methodNotAllowed(ctx, 'GET, PUT, DELETE');
      const clientId = safeDecode(rest);
      // A path no client_id can have: no registration access token is for it.
      if (clientId === undefined) return invalidToken(ctx, 'the registration access token is missing or not this client\'s');
      return await configure(ctx, clientId);
    } catch (error) {
      if (error instanceof InvalidInputError) return reply(ctx, 400, { error: registrationErrorCode(error), error_description: error.message });
      throw error;
    }
  };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The bearer token of the Authorization header (RFC 6750 §2.1), if any. */
function bearer(ctx: Context): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(ctx.get('authorization'));
  return match?.[1];
}

function reply(ctx: Context, status: number, body: object): void {
  ctx.status = status;
  ctx.body = body;
  ctx.set('Cache-Control', 'no-store');
}

function invalidToken(ctx: Context, description: string): void {
  ctx.set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${description.replaceAll('"', "'")}"`);
  reply(ctx, 401, { error: 'invalid_token', error_description: description });
}

function methodNotAllowed(ctx: Context, allow: string): void {
  ctx.set('Allow', allow);
  reply(ctx, 405, { error: 'invalid_request', error_description: `use ${allow}` });
}

/** The JSON body, or undefined once a 400 has been answered for one that is not JSON. */
async function readBody(ctx: Context): Promise<unknown> {
  if (!ctx.request.is('application/json')) {
    reply(ctx, 400, { error: 'invalid_client_metadata', error_description: 'the body must be application/json' });
    return undefined;
  }
  const body = await readJson(ctx);
  if (body === undefined) reply(ctx, 400, { error: 'invalid_client_metadata', error_description: 'the body is not valid JSON' });
  return body;
}
