// The reference: a bare oidc-provider in Koa, as its own documentation sets it
// up, with nothing of Latchkey's. In-memory storage (oidc-provider's own
// MemoryAdapter, the default when no adapter is configured), one static
// client, ES256 JWT access tokens for one resource, and a minimal login and
// consent page. It is what "as fast as oidc-provider can go" means in the
// bench's ratios. Run as a process of its own: BENCH_REFERENCE_CONFIG names
// a JSON file written by reference-config.ts.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Router from '@koa/router';
import { verify as argon2Verify } from '@node-rs/argon2';
import type { Context } from 'koa';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { errors, Provider, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { API, API2, API2_SCOPES, API_SCOPES, CALLBACK, TOKEN_EXCHANGE_GRANT } from './fixture.ts';
import type { ReferenceConfig } from './reference-config.ts';

const file = process.env.BENCH_REFERENCE_CONFIG;
if (!file) throw new Error('BENCH_REFERENCE_CONFIG must name the reference configuration file');
const settings = JSON.parse(readFileSync(file, 'utf8')) as ReferenceConfig;
const { account } = settings;

const isClientCredentials = (ctx: KoaContextWithOIDC) => ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';

// The same lifetimes and rules as Latchkey's defaults, so both issue the same tokens.
const configuration: Configuration = {
  clients: [
    {
      client_id: settings.client.id,
      client_secret: settings.client.secret,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE_GRANT],
      response_types: ['code'],
      redirect_uris: [CALLBACK],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: settings.jwks,
  cookies: { keys: settings.cookieKeys },
  findAccount: (_ctx, id) => (id === account.id ? { accountId: id, claims: () => ({ sub: id, email: account.email }) } : undefined),
  claims: { email: ['email', 'email_verified'] },
  pkce: { required: () => true },
  responseTypes: ['code'],
  rotateRefreshToken: () => true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, _client, oneOf) => oneOf ?? (isClientCredentials(ctx) ? API : undefined),
      getResourceServerInfo(_ctx, indicator) {
        if (indicator !== API) throw new errors.InvalidTarget();
        return resourceServer(API, API_SCOPES);
      },
      useGrantedResource: () => true,
    },
  },
  ttl: {
    AccessToken: 900,
    ClientCredentials: 900,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    Interaction: 600,
    Grant: 14 * 24 * 3600,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  extraTokenClaims: (_ctx, token) => actors.get(token),
};

function resourceServer(audience: string, scopes: readonly string[]) {
  return { scope: scopes.join(' '), audience, accessTokenTTL: 900, accessTokenFormat: 'jwt' as const, jwt: { sign: { alg: 'ES256' as const } } };
}

const provider = new Provider(settings.issuer, configuration);

// Token exchange (RFC 8693) as bare as oidc-provider's custom grant API allows,
// so the bench's ratio is Latchkey's product work over the same grant: the
// subject token checked offline (signature, iss, aud API, exp, at+jwt), the
// scope narrowed to what it holds, a JWT for API2 with `act`.
const actors = new WeakMap<object, Record<string, unknown>>();
const publicKeys = createLocalJWKSet({ keys: settings.jwks.keys.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest }) => rest) });
provider.registerGrantType(
  TOKEN_EXCHANGE_GRANT,
  async (ctx) => {
    const { subject_token: subjectToken, resource, scope } = ctx.oidc.params as Record<string, string | undefined>;
    if (!subjectToken) throw new errors.InvalidRequest('subject_token is required');
    if (resource !== API2) throw new errors.InvalidTarget();
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(subjectToken, publicKeys, { issuer: settings.issuer, audience: API, typ: 'at+jwt' }));
    } catch {
      throw new errors.InvalidGrant('invalid subject_token');
    }
    const held = new Set(String(claims.scope ?? '').split(' '));
    const scopes = (scope ? scope.split(' ') : API2_SCOPES.filter((s) => held.has(s))).filter((s) => held.has(s) && (API2_SCOPES as readonly string[]).includes(s));
    const token = new provider.AccessToken({ accountId: String(claims.sub), client: ctx.oidc.client!, grantId: String(claims.jti), gty: 'token_exchange', scope: scopes.join(' ') });
    token.resourceServer = { ...resourceServer(API2, API2_SCOPES), scopes: new Set(API2_SCOPES), identifier: () => API2 };
    actors.set(token, { act: { sub: ctx.oidc.client!.clientId } });
    ctx.body = { access_token: await token.save(), issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: token.expiration, scope: token.scope };
  },
  ['subject_token', 'subject_token_type', 'resource', 'audience', 'scope'],
);

const page = (uid: string, step: 'login' | 'consent') =>
  step === 'login'
    ? `<!doctype html><title>Sign in</title><form method="post" action="/interaction/${uid}/login"><input name="email"><input name="password" type="password"><button>Sign in</button></form>`
    : `<!doctype html><title>Allow</title><form method="post" action="/interaction/${uid}/consent"><button>Allow</button></form>`;

async function readForm(ctx: Context): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const router = new Router();
router.get('/interaction/:uid', async (ctx) => {
  const interaction = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.type = 'html';
  ctx.body = page(interaction.uid, interaction.prompt.name === 'login' ? 'login' : 'consent');
});
router.post('/interaction/:uid/login', async (ctx) => {
  const interaction = await provider.interactionDetails(ctx.req, ctx.res);
  const form = await readForm(ctx);
  const ok = form.get('email') === account.email && (await argon2Verify(account.passwordHash, form.get('password') ?? ''));
  if (!ok) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page(interaction.uid, 'login');
    return;
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
  ctx.redirect(to);
});
router.post('/interaction/:uid/consent', async (ctx) => {
  const interaction = await provider.interactionDetails(ctx.req, ctx.res);
  const details = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  const grant = interaction.grantId
    ? (await provider.Grant.find(interaction.grantId))!
    : new provider.Grant({ accountId: interaction.session!.accountId, clientId: String(interaction.params.client_id) });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  const to = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  ctx.redirect(to);
});

// As in oidc-provider's own Koa example: the provider is the Koa app, the interaction routes are its middleware.
provider.use(router.routes());

const server = http.createServer(provider.callback());
server.keepAliveTimeout = 5_000;
server.listen(settings.port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
