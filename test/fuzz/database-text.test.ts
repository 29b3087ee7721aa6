// Request values PostgreSQL's text type refuses (a NUL; a lone surrogate or
// invalid UTF-8, which decoding turns into odd characters) in every
// parameter that can reach a query, on every endpoint and interaction route.
// Each case must get the same spec-shaped answer on both dialects, never a
// 500: on PostgreSQL a NUL that reaches a query is error 22021 ("invalid
// byte sequence for encoding UTF8"), where SQLite simply finds no row.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPage, parseForms, UserAgent } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';
const BYE = 'https://app.example.test/bye';
const ORDERS = 'https://orders.example.test/api';
// RFC 7636's example PKCE pair.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

let server: TestServer;
let web: { id: string; secret: string };
let service: { id: string; secret: string };

beforeAll(async () => {
  // Every request comes from an address of its own (X-Forwarded-For), so the
  // brute-force protection, which counts these failures, never answers instead.
  server = await startTestServer({ env: { LATCHKEY_TRUST_PROXY: 'true' } });
  const { accounts, clients, resources } = server.services;
  await accounts.create({ email: 'ada@example.test', password: PASSWORD });
  // Takes the wrong passwords, so Ada's sign-in is never throttled.
  await accounts.create({ email: 'bob@example.test', password: PASSWORD });
  await resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
  const created = await clients.create({ name: 'Web', redirectUris: [CALLBACK], postLogoutRedirectUris: [BYE], resources: [ORDERS] });
  web = { id: created.client.clientId, secret: created.clientSecret! };
  const machine = await clients.create({ name: 'Sync', grantTypes: ['client_credentials'], resources: [ORDERS], scope: 'orders:read' });
  service = { id: machine.client.clientId, secret: machine.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

/** The values PostgreSQL refuses in text, percent-encoded as a client would send them. */
const BAD = {
  nul: '%00',
  'nul inside': 'a%00b',
  'lone surrogate': '%ED%A0%80',
  'overlong NUL': '%C0%80',
  'invalid byte': '%FF',
} as const;

type Bad = keyof typeof BAD;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
/** An unsigned JWT whose claims carry the bad value (decoded, the way a parser reads it). */
const jwtWith = (value: string) => `${b64('{"alg":"none"}')}.${b64(JSON.stringify({ iss: value, sub: value, aud: value, sid: value, jti: value, client_id: value }))}.`;
/** The bad value as a JSON parser hands it over: a JWT's claims can carry a real lone surrogate. */
const decoded = (bad: string) => decodeURIComponent(bad.replace('%ED%A0%80', '%5Cud800').replace(/%(C0%80|FF)/g, '\uFFFD')).replace('\\ud800', '\ud800');
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

interface Case {
  readonly name: string;
  readonly send: (bad: string) => Promise<Response>;
  /** What SQLite answers, and PostgreSQL must answer too: status and OAuth error, or the page's error code. */
  readonly expect: { status: number; error?: string; page?: string; redirectError?: string };
}

let clients = 0;
/** A header naming an address of its own for each request. */
const from = () => {
  clients += 1;
  return { 'x-forwarded-for': `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}` };
};
/** What a browser asks for: pages answer their errors as HTML then. */
const page = { accept: 'text/html' };
/** GETs are a browser's (pages); POSTs are an API client's (JSON) unless they say otherwise. */
const get = (path: string, headers: Record<string, string> = page) => fetch(`${server.issuer}${path}`, { headers: { ...from(), ...headers }, redirect: 'manual' });
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.issuer}${path}`, { method: 'POST', headers: { ...from(), ...form, ...headers }, body, redirect: 'manual' });

/** A valid authorization request, with one parameter replaced. */
function auth(param: string, bad: string): string {
  const params: Record<string, string> = {
    client_id: web.id,
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    state: 'st',
    nonce: 'n',
  };
  const query = Object.entries(params)
    .filter(([key]) => key !== param)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  query.push(`${param}=${param === 'redirect_uri' ? encodeURIComponent(CALLBACK) : ''}${bad}`);
  return `/auth?${query.join('&')}`;
}

const CASES: readonly Case[] = [
  // The authorization endpoint: the client is looked up before anything else.
  { name: '/auth client_id', send: (bad) => get(`/auth?response_type=code&scope=openid&client_id=${bad}`), expect: { status: 400, page: 'invalid_client' } },
  { name: '/auth client_id with a real one before it', send: (bad) => get(`/auth?response_type=code&scope=openid&client_id=${web.id}${bad}`), expect: { status: 400, page: 'invalid_client' } },
  { name: '/auth redirect_uri', send: (bad) => get(auth('redirect_uri', bad)), expect: { status: 400, page: 'invalid_redirect_uri' } },
  { name: '/auth resource', send: (bad) => get(auth('resource', bad)), expect: { status: 303, redirectError: 'invalid_target' } },
  { name: '/auth resource after a registered one', send: (bad) => get(`${auth('resource', '')}${encodeURIComponent(ORDERS)}${bad}`), expect: { status: 303, redirectError: 'invalid_target' } },
  { name: '/auth request (JAR) claims', send: (bad) => get(auth('request', jwtWith(decoded(bad)))), expect: { status: 303, redirectError: 'request_not_supported' } },
  { name: '/auth request_uri', send: (bad) => get(auth('request_uri', `urn:ietf:params:oauth:request_uri:${bad}`)), expect: { status: 303, redirectError: 'invalid_request_uri' } },
  { name: '/auth id_token_hint', send: (bad) => get(auth('id_token_hint', jwtWith(decoded(bad)))), expect: { status: 303, redirectError: 'invalid_request' } },
  // Accepted, and carried through the interaction (stored in its payload).
  { name: '/auth state', send: (bad) => get(auth('state', bad)), expect: { status: 303 } },
  { name: '/auth nonce', send: (bad) => get(auth('nonce', bad)), expect: { status: 303 } },
  { name: '/auth login_hint', send: (bad) => get(auth('login_hint', `ada${bad}@example.test`)), expect: { status: 303 } },
  { name: '/auth ui_locales', send: (bad) => get(auth('ui_locales', bad)), expect: { status: 303 } },
  { name: '/auth claims naming a sub', send: (bad) => get(auth('claims', encodeURIComponent(JSON.stringify({ id_token: { sub: { value: decoded(bad) } } })))), expect: { status: 303 } },
  { name: '/auth prompt', send: (bad) => get(auth('prompt', bad)), expect: { status: 303, redirectError: 'invalid_request' } },
  { name: '/auth max_age', send: (bad) => get(auth('max_age', bad)), expect: { status: 303, redirectError: 'invalid_request' } },
  { name: '/auth response_mode', send: (bad) => get(auth('response_mode', bad)), expect: { status: 303, redirectError: 'unsupported_response_mode' } },
  { name: '/auth scope', send: (bad) => get(auth('scope', `openid%20${bad}`)), expect: { status: 303, redirectError: 'invalid_scope' } },

  // RP-initiated logout.
  { name: '/session/end client_id', send: (bad) => get(`/session/end?client_id=${bad}`), expect: { status: 400, page: 'invalid_client' } },
  { name: '/session/end client_id with a real one before it', send: (bad) => get(`/session/end?client_id=${web.id}${bad}`), expect: { status: 400, page: 'invalid_client' } },
  { name: '/session/end post_logout_redirect_uri', send: (bad) => get(`/session/end?client_id=${web.id}&post_logout_redirect_uri=${encodeURIComponent(BYE)}${bad}`), expect: { status: 400, page: 'invalid_request' } },
  { name: '/session/end id_token_hint', send: (bad) => get(`/session/end?id_token_hint=${bad}`), expect: { status: 400, page: 'invalid_request' } },
  { name: '/session/end id_token_hint claims', send: (bad) => get(`/session/end?id_token_hint=${jwtWith(decoded(bad))}`), expect: { status: 400, page: 'invalid_client' } },
  { name: '/session/end state', send: (bad) => get(`/session/end?client_id=${web.id}&state=${bad}`), expect: { status: 200 } },
  { name: '/session/end ui_locales', send: (bad) => get(`/session/end?ui_locales=${bad}`), expect: { status: 200 } },
  { name: '/session/end/confirm xsrf', send: (bad) => post('/session/end/confirm', `logout=yes&xsrf=${bad}`, page), expect: { status: 400, page: 'invalid_request' } },

  // The token endpoint: the client_id in every place it can be named.
  { name: '/token client_id in the body', send: (bad) => post('/token', `grant_type=client_credentials&client_id=${bad}&client_secret=x`), expect: { status: 401, error: 'invalid_client' } },
  { name: '/token client_id in Basic', send: (bad) => post('/token', 'grant_type=client_credentials', { authorization: basic(bad, 'x') }), expect: { status: 400, error: 'invalid_request' } },
  { name: '/token client_id in Basic, raw', send: (bad) => post('/token', 'grant_type=client_credentials', { authorization: basic(decoded(bad), 'x') }), expect: { status: 400, error: 'invalid_request' } },
  { name: '/token client_assertion sub', send: (bad) => post('/token', `grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${jwtWith(decoded(bad))}`), expect: { status: 401, error: 'invalid_client' } },
  { name: '/token code', send: (bad) => post('/token', `grant_type=authorization_code&redirect_uri=${encodeURIComponent(CALLBACK)}&code_verifier=${'v'.repeat(43)}&code=${bad}`, { authorization: basic(web.id, web.secret) }), expect: { status: 400, error: 'invalid_grant' } },
  { name: '/token refresh_token', send: (bad) => post('/token', `grant_type=refresh_token&refresh_token=${bad}`, { authorization: basic(web.id, web.secret) }), expect: { status: 400, error: 'invalid_grant' } },
  { name: '/token resource', send: (bad) => post('/token', `grant_type=client_credentials&resource=${bad}`, { authorization: basic(service.id, service.secret) }), expect: { status: 400, error: 'invalid_target' } },
  { name: '/token resource after a registered one', send: (bad) => post('/token', `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS)}${bad}`, { authorization: basic(service.id, service.secret) }), expect: { status: 400, error: 'invalid_target' } },
  { name: '/token scope', send: (bad) => post('/token', `grant_type=client_credentials&scope=${bad}`, { authorization: basic(service.id, service.secret) }), expect: { status: 400, error: 'invalid_scope' } },

  // Introspection and revocation.
  { name: '/token/introspection client_id', send: (bad) => post('/token/introspection', `token=abc&client_id=${bad}&client_secret=x`), expect: { status: 401, error: 'invalid_client' } },
  { name: '/token/introspection client_id in Basic', send: (bad) => post('/token/introspection', 'token=abc', { authorization: basic(bad, 'x') }), expect: { status: 400, error: 'invalid_request' } },
  { name: '/token/introspection token', send: (bad) => post('/token/introspection', `token=${bad}`, { authorization: basic(web.id, web.secret) }), expect: { status: 200 } },
  { name: '/token/introspection JWT token', send: (bad) => post('/token/introspection', `token=${jwtWith(decoded(bad))}`, { authorization: basic(web.id, web.secret) }), expect: { status: 200 } },
  { name: '/token/introspection token_type_hint', send: (bad) => post('/token/introspection', `token=abc&token_type_hint=${bad}`, { authorization: basic(web.id, web.secret) }), expect: { status: 200 } },
  { name: '/token/revocation client_id', send: (bad) => post('/token/revocation', `token=abc&client_id=${bad}&client_secret=x`), expect: { status: 401, error: 'invalid_client' } },
  { name: '/token/revocation token', send: (bad) => post('/token/revocation', `token=${bad}`, { authorization: basic(web.id, web.secret) }), expect: { status: 200 } },
  { name: '/token/revocation JWT token', send: (bad) => post('/token/revocation', `token=${jwtWith(decoded(bad))}`, { authorization: basic(web.id, web.secret) }), expect: { status: 200 } },

  // Pushed authorization requests and userinfo.
  { name: '/request client_id', send: (bad) => post('/request', `response_type=code&scope=openid&client_id=${bad}&client_secret=x`), expect: { status: 401, error: 'invalid_client' } },
  { name: '/request resource', send: (bad) => post('/request', `${auth('resource', bad).slice('/auth?'.length)}`, { authorization: basic(web.id, web.secret) }), expect: { status: 400, error: 'invalid_target' } },
  { name: '/me access_token in the body', send: (bad) => post('/me', `access_token=${bad}`), expect: { status: 401, error: 'invalid_token' } },
  { name: '/me bearer JWT', send: (bad) => get('/me', { accept: 'application/json', authorization: `Bearer ${jwtWith(decoded(bad))}` }), expect: { status: 401, error: 'invalid_token' } },

  // Interaction routes named by a uid nobody has.
  { name: '/interaction/:uid', send: (bad) => get(`/interaction/${bad}`), expect: { status: 400, page: 'interaction_expired' } },
  { name: '/interaction/:uid/login POST', send: (bad) => post(`/interaction/${bad}/login`, `email=${bad}&password=${bad}&token=${bad}`, page), expect: { status: 400, page: 'interaction_expired' } },
];

/** The parts of an answer a case is judged by. */
async function outcome(response: Response): Promise<Case['expect']> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  const result: { status: number; error?: string; page?: string; redirectError?: string } = { status: response.status };
  if (type.includes('json') && text) {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof error === 'string') result.error = error;
  } else if (type.includes('html') && response.status >= 400) {
    result.page = /Error code: <code>([^<]*)<\/code>/.exec(text)?.[1] ?? `no error code in ${text.slice(0, 200)}`;
  }
  const location = response.headers.get('location');
  if (location) {
    const error = new URL(location, server.issuer).searchParams.get('error');
    if (error) result.redirectError = error;
  }
  return result;
}

describe('request values the database cannot store', () => {
  it('get the same spec-shaped answer on every endpoint, never a 500', { timeout: 120_000 }, async () => {
    const wrong: string[] = [];
    for (const testCase of CASES) {
      for (const [label, bad] of Object.entries(BAD) as [Bad, string][]) {
        const got = await outcome(await testCase.send(bad));
        if (JSON.stringify(got) !== JSON.stringify(testCase.expect)) {
          wrong.push(`${testCase.name} (${label}): got ${JSON.stringify(got)}, expected ${JSON.stringify(testCase.expect)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('20 at once on the authorization and logout endpoints still answer 400', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? get(`/auth?response_type=code&client_id=x%00${i}`) : get(`/session/end?client_id=x%00${i}`))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(400));
  });
});

describe('the login form with values the database cannot store', () => {
  async function loginPage(browser: UserAgent) {
    const query = new URL(auth('state', 'st'), server.issuer);
    const step = expectPage(await browser.open(query));
    const [login] = parseForms(step.html);
    return { step, action: new URL(login!.action, step.url), token: login!.fields.token! };
  }

  const FIELDS: readonly { name: string; body: (bad: string, token: string) => string }[] = [
    { name: 'email', body: (bad, token) => `token=${token}&email=ada${bad}%40example.test&password=${encodeURIComponent(PASSWORD)}` },
    { name: 'email alone', body: (bad, token) => `token=${token}&email=${bad}&password=${encodeURIComponent(PASSWORD)}` },
    { name: 'password', body: (bad, token) => `token=${token}&email=bob%40example.test&password=${encodeURIComponent(PASSWORD)}${bad}` },
    { name: 'token', body: (bad) => `token=${bad}&email=bob%40example.test&password=x` },
  ];

  it('refuses each one with the login page (or the form-token page), never a 500', { timeout: 120_000 }, async () => {
    const wrong: string[] = [];
    for (const field of FIELDS) {
      for (const [label, bad] of Object.entries(BAD) as [Bad, string][]) {
        const browser = new UserAgent(new URL(server.issuer).origin);
        const { action, token } = await loginPage(browser);
        const step = expectPage(await browser.post(action, field.body(bad, token)));
        const expected = field.name === 'token' ? 403 : 400;
        const shown = /<h1>([\s\S]*?)<\/h1>/.exec(step.html)?.[1];
        const expectedHeading = field.name === 'token' ? 'This form could not be accepted' : 'Sign in';
        if (step.status !== expected || shown !== expectedHeading) wrong.push(`${field.name} (${label}): ${step.status} ${shown}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('signs in with a state and nonce the database could not take raw, and hands them back unchanged', async () => {
    const browser = new UserAgent(new URL(server.issuer).origin);
    const start = new URL(auth('state', 'a%00b'), server.issuer);
    start.searchParams.set('nonce', 'n\u0000');
    const login = expectPage(await browser.open(start));
    const consent = expectPage(await browser.submit(login, { email: 'ada@example.test', password: PASSWORD }));
    const callback = await browser.submit(consent, {}, 'Allow');
    expect(callback.kind).toBe('redirect');
    expect(callback.url.searchParams.get('state')).toBe('a\u0000b');
    const code = callback.url.searchParams.get('code')!;
    // The code's artifact carried the nonce: the ID token has it back, exactly.
    const tokens = await post('/token', new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: VERIFIER }).toString(), {
      authorization: basic(web.id, web.secret),
    });
    expect(tokens.status).toBe(200);
    const { id_token } = (await tokens.json()) as { id_token: string };
    expect(decodeJwt(id_token).nonce).toBe('n\u0000');
  });
});
