// Upstreams for federation tests: a second Latchkey (a real OpenID Connect
// provider with its own database, on `localhost` so its cookies never mix
// with the downstream's on 127.0.0.1), registered as an identity provider of
// the Latchkey under test; a small stand-in for GitHub's OAuth 2.0 endpoints
// and API; a minimal OIDC provider whose ID tokens a test can bend (another
// issuer, audience, nonce, key) to check that they are refused. Plus the
// steps of a federated sign-in over HTTP, with one user agent per origin.
import http from 'node:http';
import { randomBytes, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import type { IdentityProviderView } from '../../src/federation/identity-provider-service.ts';
import { expectPage, heading, parseForms, UserAgent, type RelyingParty, type Step } from './rp.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './server.ts';

export const UPSTREAM_PASSWORD = 'upstream horse battery staple';

export interface UpstreamLatchkey {
  readonly server: TestServer;
  /** The downstream's client at the upstream. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** A person at the upstream; `verified`: whether the upstream vouches for the email. */
  addPerson(person: { email: string; name?: string; verified?: boolean; password?: string }): Promise<{ id: string; email: string }>;
  /** A user agent for the upstream's origin (a fresh browser's cookies). */
  agent(): UserAgent;
  stop(): Promise<void>;
}

/** Starts a second Latchkey and gives the downstream a client there, with the downstream's callback for `slug` as its redirect URI. */
export async function startUpstreamLatchkey(downstream: TestServer, slug: string, options: TestServerOptions = {}): Promise<UpstreamLatchkey> {
  const server = await startTestServer({ issuerHost: 'localhost', ...options });
  const created = await server.services.clients.create({ name: 'Downstream Latchkey', redirectUris: [`${downstream.issuer}/federation/${slug}/callback`] });
  return {
    server,
    clientId: created.client.clientId,
    clientSecret: created.clientSecret!,
    async addPerson({ email, name, verified = true, password = UPSTREAM_PASSWORD }) {
      const account = await server.services.accounts.create({ email, password, ...(name && { name }) });
      if (verified) await server.services.accounts.markEmailVerified(account.id, account.email);
      return { id: account.id, email: account.email };
    },
    agent: () => new UserAgent(new URL(server.issuer).origin),
    stop: () => server.stop(),
  };
}

/** Registers an upstream at the downstream, as `latchkey idp create` does. */
export function registerProvider(downstream: TestServer, input: { name: string; slug: string; issuer: string; clientId: string; clientSecret: string; type?: 'oidc' | 'github'; scope?: string }): Promise<IdentityProviderView> {
  return downstream.services.identityProviders.create(input);
}

/** Submits the form on `step` that has a button labelled `button`, pressing it. */
export function pressButton(agent: UserAgent, step: Step, button: string, values: Record<string, string> = {}): Promise<Step> {
  const page = expectPage(step);
  for (const form of parseForms(page.html)) {
    const pressed = form.buttons.find((candidate) => candidate.label === button);
    if (!pressed) continue;
    const body = new URLSearchParams({ ...form.fields, ...values });
    if (pressed.name) body.set(pressed.name, pressed.value ?? '');
    return agent.post(new URL(pressed.formaction ?? form.action, page.url), body);
  }
  throw new Error(`no button "${button}" on ${page.url.href}: ${page.html.slice(0, 600)}`);
}

/** The text of the page's "Error code" line, when it shows one. */
export const pageCode = (step: Step) => /<code>([^<]*)<\/code>/.exec(expectPage(step).html)?.[1];

export interface FederatedRound {
  /** The downstream's login page, as the person first sees it. */
  readonly login: Step;
  /** The URL the downstream sent the browser to at the upstream. */
  readonly authorize: URL;
  /** The upstream's redirect back to the downstream's callback. */
  readonly callback: URL;
  readonly request: Awaited<ReturnType<RelyingParty['authorizationRequest']>>;
}

/**
 * From the RP's authorization request to the moment the upstream sends the
 * browser back: the downstream's login page, "Continue with <provider>", the
 * upstream's login and consent (Allow). The callback is not followed.
 */
export async function roundTripToUpstream(rp: RelyingParty, upstream: UserAgent, provider: string, credentials: { email: string; password?: string }, params: Record<string, string> = {}): Promise<FederatedRound> {
  const request = await rp.authorizationRequest(params);
  const login = await rp.browser.open(request.url);
  if (heading(login) !== 'Sign in') throw new Error(`expected the login page, got: ${expectPage(login).html.slice(0, 400)}`);
  const started = await pressButton(rp.browser, login, `Continue with ${provider}`);
  if (started.kind !== 'redirect') throw new Error(`expected a redirect to the upstream, got ${started.status}: ${started.html.slice(0, 600)}`);
  const authorize = started.url;
  const callback = await throughUpstream(upstream, authorize, credentials);
  return { login, authorize, callback, request };
}

/** At the upstream: its login page (if it has no session yet), its consent page (Allow), and the redirect back. */
export async function throughUpstream(upstream: UserAgent, authorize: URL, credentials: { email: string; password?: string }, button = 'Allow'): Promise<URL> {
  let step = await upstream.open(authorize);
  if (step.kind === 'page' && heading(step) === 'Sign in') step = await upstream.submit(step, { email: credentials.email, password: credentials.password ?? UPSTREAM_PASSWORD });
  if (step.kind === 'page' && heading(step)?.endsWith('wants to access your account')) step = await upstream.submit(step, {}, button);
  if (step.kind !== 'redirect') throw new Error(`expected the upstream to send the browser back, got ${step.status}: ${step.html.slice(0, 600)}`);
  return step.url;
}

const listen = (handler: http.RequestListener) =>
  new Promise<{ server: http.Server; origin: string }>((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });

const close = (server: http.Server) => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });

async function formOf(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const json = (res: http.ServerResponse, status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** The client credentials a request presented, in the body or as HTTP Basic. */
function clientCredentials(req: http.IncomingMessage, form: URLSearchParams): { id?: string; secret?: string } {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map((part) => decodeURIComponent(part));
    return { id, secret };
  }
  return { id: form.get('client_id') ?? undefined, secret: form.get('client_secret') ?? undefined };
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export interface FakeGithubUser {
  readonly id: number;
  readonly login: string;
  readonly name: string | null;
  readonly avatarUrl: string;
  readonly emails: readonly { email: string; primary: boolean; verified: boolean }[];
}

/**
 * GitHub's OAuth 2.0 and the two API calls Latchkey makes, as GitHub
 * answers them: authorize (approves at once for `user`), the token endpoint
 * (JSON when asked; errors as 200 with an `error`, as GitHub does; checks the
 * client, the redirect URI and PKCE), /api/v3/user and /api/v3/user/emails.
 */
export async function startFakeGithub(options: { clientId: string; clientSecret: string }) {
  let user: FakeGithubUser = { id: 4242, login: 'octo', name: 'Octo Cat', avatarUrl: 'https://avatars.example.test/u/4242', emails: [{ email: 'octo@example.test', primary: true, verified: true }] };
  const codes = new Map<string, { redirectUri: string; challenge: string | null; user: FakeGithubUser }>();
  const tokens = new Map<string, FakeGithubUser>();
  const requests: string[] = [];
  const { server, origin } = await listen(async (req, res) => {
    const url = new URL(req.url!, 'http://github.test');
    requests.push(`${req.method} ${url.pathname}`);
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirectUri = url.searchParams.get('redirect_uri')!;
      if (url.searchParams.get('client_id') !== options.clientId) return json(res, 400, { error: 'unknown client' });
      const code = randomBytes(10).toString('hex');
      codes.set(code, { redirectUri, challenge: url.searchParams.get('code_challenge'), user });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return res.writeHead(302, { location: back.href }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = await formOf(req);
      const client = clientCredentials(req, form);
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (client.id !== options.clientId || client.secret !== options.clientSecret) return json(res, 200, { error: 'incorrect_client_credentials' });
      if (!grant || grant.redirectUri !== form.get('redirect_uri')) return json(res, 200, { error: 'bad_verification_code' });
      if (grant.challenge && s256(form.get('code_verifier') ?? '') !== grant.challenge) return json(res, 200, { error: 'bad_verification_code' });
      const token = `gho_${randomBytes(16).toString('hex')}`;
      tokens.set(token, grant.user);
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const bearer = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const owner = bearer ? tokens.get(bearer) : undefined;
    if (req.method === 'GET' && url.pathname === '/api/v3/user') {
      if (!owner) return json(res, 401, { message: 'Bad credentials' });
      return json(res, 200, { id: owner.id, login: owner.login, name: owner.name, avatar_url: owner.avatarUrl, email: null });
    }
    if (req.method === 'GET' && url.pathname === '/api/v3/user/emails') {
      if (!owner) return json(res, 401, { message: 'Bad credentials' });
      return json(res, 200, owner.emails.map((entry) => ({ ...entry, visibility: entry.primary ? 'public' : null })));
    }
    return json(res, 404, { message: 'Not Found' });
  });
  return {
    origin,
    requests,
    agent: () => new UserAgent(origin),
    /** Who the next authorization signs in as. */
    signInAs(next: Partial<FakeGithubUser>) {
      user = { ...user, ...next };
    },
    stop: () => close(server),
  };
}

export type FakeGithub = Awaited<ReturnType<typeof startFakeGithub>>;

/** How the next ID token of the fake OIDC upstream is bent. */
export interface IdTokenTwist {
  readonly iss?: string;
  readonly aud?: string;
  readonly nonce?: string;
  /** Seconds from now; negative: expired. */
  readonly expiresIn?: number;
  /** Signed with a key the JWKS does not list. */
  readonly unknownKey?: boolean;
  readonly claims?: Record<string, unknown>;
}

/**
 * A minimal OpenID Connect provider, enough for openid-client: discovery,
 * JWKS, an authorization endpoint that approves at once, a token endpoint
 * with an ID token (email and profile claims in it). Tests bend its answers:
 * the issuer discovery names, the next ID token's claims or key, a discovery
 * that fails, a rotated signing key.
 */
export async function startFakeOidc(options: { clientId: string; clientSecret: string }) {
  let key = await jose.generateKeyPair('ES256', { extractable: true });
  let kid = randomBytes(6).toString('hex');
  let published: jose.JWK[] = [];
  const publish = async () => {
    published = [{ ...(await jose.exportJWK(key.publicKey)), kid, alg: 'ES256', use: 'sig' }];
  };
  await publish();
  const codes = new Map<string, { nonce: string | null; redirectUri: string; challenge: string | null }>();
  const state = {
    discoveredIssuer: undefined as string | undefined,
    discoveryStatus: 200,
    twist: {} as IdTokenTwist,
    subject: 'fake-subject-1',
    claims: { email: 'fake@example.test', email_verified: true, name: 'Fake Person' } as Record<string, unknown>,
    jwksRequests: 0,
    discoveryRequests: 0,
  };
  const { server, origin } = await listen(async (req, res) => {
    const url = new URL(req.url!, 'http://oidc.test');
    if (url.pathname === '/.well-known/openid-configuration') {
      state.discoveryRequests++;
      if (state.discoveryStatus !== 200) return json(res, state.discoveryStatus, { error: 'temporarily_unavailable' });
      return json(res, 200, {
        issuer: state.discoveredIssuer ?? origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        jwks_uri: `${origin}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/jwks') {
      state.jwksRequests++;
      return json(res, 200, { keys: published });
    }
    if (url.pathname === '/authorize') {
      const code = randomBytes(10).toString('hex');
      codes.set(code, { nonce: url.searchParams.get('nonce'), redirectUri: url.searchParams.get('redirect_uri')!, challenge: url.searchParams.get('code_challenge') });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return res.writeHead(302, { location: back.href }).end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = await formOf(req);
      const client = clientCredentials(req, form);
      if (client.id !== options.clientId || client.secret !== options.clientSecret) return json(res, 401, { error: 'invalid_client' });
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!grant || grant.redirectUri !== form.get('redirect_uri') || (grant.challenge && s256(form.get('code_verifier') ?? '') !== grant.challenge)) return json(res, 400, { error: 'invalid_grant' });
      const twist = state.twist;
      const now = Math.floor(Date.now() / 1000);
      const signing = twist.unknownKey ? await jose.generateKeyPair('ES256') : key;
      const idToken = await new jose.SignJWT({ ...state.claims, ...(twist.claims ?? {}), nonce: twist.nonce ?? grant.nonce ?? undefined })
        .setProtectedHeader({ alg: 'ES256', kid: twist.unknownKey ? 'not-published' : kid })
        .setIssuer(twist.iss ?? origin)
        .setAudience(twist.aud ?? options.clientId)
        .setSubject(state.subject)
        .setIssuedAt(now)
        .setExpirationTime(now + (twist.expiresIn ?? 300))
        .sign(signing.privateKey);
      return json(res, 200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    return json(res, 404, { error: 'not_found' });
  });
  return {
    origin,
    state,
    agent: () => new UserAgent(origin),
    /** A new signing key: the JWKS lists only it from now on. */
    async rotateKey() {
      key = await jose.generateKeyPair('ES256', { extractable: true });
      kid = randomBytes(6).toString('hex');
      await publish();
    },
    stop: () => close(server),
  };
}

export type FakeOidc = Awaited<ReturnType<typeof startFakeOidc>>;
