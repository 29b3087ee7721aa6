// The scenarios, each run the same way against Latchkey and the reference.
// A scenario gets a target (a running server and its credentials) and load
// options, and returns one Measurement; minting whatever it needs first
// (refresh tokens, an access token to introspect) is never measured.
import { ADMIN_BENCH_CLIENTS, API, API2, basicAuth, TOKEN_EXCHANGE_GRANT, type Credentials } from './fixture.ts';
import { measureHttp, percentile, type LoadOptions, type Measurement } from './http-load.ts';
import { createBrowser, loginLoad } from './login-flow.ts';
import { verifyWithBareJose, verifyWithLatchkeyVerifier } from './offline-verify.ts';
import { watchUsage } from './process-stats.ts';

export type TargetName = 'latchkey' | 'reference';

export interface Target {
  readonly name: TargetName;
  readonly pid: number;
  readonly issuer: string;
  readonly credentials: Credentials;
}

export interface ScenarioOptions extends LoadOptions {
  /** Concurrent people signing in, in the login scenario. */
  readonly loginConcurrency: number;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  /** Whether the load goes through HTTP to the server (so server CPU and DB queries per operation mean something). */
  readonly http: boolean;
  /** Measured on Latchkey only: the reference has nothing like it (the Admin API). */
  readonly latchkeyOnly?: boolean;
  run(target: Target, options: ScenarioOptions): Promise<Measurement>;
}

const FORM = 'application/x-www-form-urlencoded';
const CLIENT_CREDENTIALS_BODY = new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'read' }).toString();

async function clientCredentialsToken(target: Target): Promise<string> {
  const response = await fetch(`${target.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(target.credentials.service), 'content-type': FORM },
    body: CLIENT_CREDENTIALS_BODY,
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (response.status !== 200 || !body.access_token) throw new Error(`${target.name}: client credentials failed: ${response.status} ${body.error ?? ''}`);
  return body.access_token;
}

async function endpoint(target: Target, name: 'introspection_endpoint' | 'jwks_uri'): Promise<string> {
  const metadata = (await (await fetch(`${target.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  return new URL(metadata[name]!).pathname;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'client-credentials',
    title: 'client credentials → JWT (client_secret_basic)',
    unit: 'req/s',
    http: true,
    async run(target, options) {
      await clientCredentialsToken(target); // fails loudly before any load if misconfigured
      return measureHttp(
        target,
        { method: 'POST', path: '/token', headers: { authorization: basicAuth(target.credentials.service), 'content-type': FORM }, body: CLIENT_CREDENTIALS_BODY },
        options,
      );
    },
  },
  {
    id: 'jwks',
    title: 'JWKS',
    unit: 'req/s',
    http: true,
    async run(target, options) {
      return measureHttp(target, { method: 'GET', path: await endpoint(target, 'jwks_uri') }, options);
    },
  },
  {
    id: 'discovery',
    title: 'discovery (openid-configuration)',
    unit: 'req/s',
    http: true,
    run: (target, options) => measureHttp(target, { method: 'GET', path: '/.well-known/openid-configuration' }, options),
  },
  {
    id: 'refresh',
    title: 'refresh token → JWT (rotating)',
    unit: 'req/s',
    http: true,
    async run(target, options) {
      // Refresh tokens rotate: each is good for one request. Every connection
      // follows its own chain (a pool of chains, one login each), putting the
      // refresh token each answer returns back into the pool, so the load is
      // the steady state of many clients refreshing, with no reuse.
      const chains = options.connections * 2;
      const pool: string[] = [];
      for (let i = 0; i < chains; i++) {
        const tokens = await createBrowser(target.issuer, target.credentials.web).login({ scope: 'openid offline_access read', resource: API, prompt: 'consent' });
        if (!tokens.refresh_token) throw new Error(`${target.name}: no refresh token from a login with offline_access`);
        pool.push(tokens.refresh_token);
      }
      let starved = 0;
      const measurement = await measureHttp(
        target,
        {
          method: 'POST',
          path: '/token',
          headers: { authorization: basicAuth(target.credentials.web), 'content-type': FORM },
          setupRequest(request) {
            const token = pool.shift();
            if (!token) starved++;
            request.body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token ?? 'pool-exhausted' }).toString();
            return request;
          },
          onResponse(status, body) {
            if (status === 200) pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
          },
        },
        options,
      );
      return starved ? { ...measurement, note: `${starved} requests found the pool of ${chains} chains empty` } : measurement;
    },
  },
  {
    id: 'introspection',
    title: 'introspection (opaque access token)',
    unit: 'req/s',
    http: true,
    async run(target, options) {
      // JWT access tokens verify offline; introspection is for the opaque
      // (userinfo) access token a login without a resource gets.
      const { access_token: token } = await createBrowser(target.issuer, target.credentials.web).login({ scope: 'openid' });
      const path = await endpoint(target, 'introspection_endpoint');
      const body = new URLSearchParams({ token }).toString();
      const probe = await fetch(`${target.issuer}${path}`, { method: 'POST', headers: { authorization: basicAuth(target.credentials.web), 'content-type': FORM }, body });
      const answer = (await probe.json()) as { active?: boolean };
      if (answer.active !== true) throw new Error(`${target.name}: the token to introspect is not active (${probe.status})`);
      return measureHttp(target, { method: 'POST', path, headers: { authorization: basicAuth(target.credentials.web), 'content-type': FORM }, body }, options);
    },
  },
  {
    id: 'login',
    title: 'full login: /auth → password → code → token',
    unit: 'logins/s',
    http: true,
    async run(target, options) {
      const request = { scope: 'openid read', resource: API };
      const shared = { issuer: target.issuer, client: target.credentials.web, request, concurrency: options.loginConcurrency };
      if (options.warmupSeconds > 0) await loginLoad({ ...shared, seconds: options.warmupSeconds });
      await options.window?.begin();
      const usage = watchUsage(target.pid, options.databaseCpu);
      const load = await loginLoad({ ...shared, seconds: options.seconds });
      const window = await usage.end();
      await options.window?.end();
      const sorted = load.latencies.sort((a, b) => a - b);
      return {
        rate: load.completed / load.seconds,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        ok: load.completed,
        failed: load.failed,
        ...(load.completed > 0 && { cpuMsPerOp: (window.cpuSeconds * 1000) / load.completed }),
        ...(load.completed > 0 && window.databaseCpuSeconds !== undefined && { databaseCpuMsPerOp: (window.databaseCpuSeconds * 1000) / load.completed }),
        serverCores: window.cpuSeconds / window.wallSeconds,
        peakRssMb: window.peakRssBytes / 2 ** 20,
        note: `${options.loginConcurrency} concurrent people, 5 HTTP requests per login${load.firstError ? `; first failure: ${load.firstError}` : ''}`,
      };
    },
  },
  {
    id: 'verify-offline',
    title: 'offline verification (in process)',
    unit: 'tokens/s',
    http: false,
    async run(target, options) {
      const tokens = await Promise.all(Array.from({ length: 64 }, () => clientCredentialsToken(target)));
      return target.name === 'latchkey'
        ? verifyWithLatchkeyVerifier(target.issuer, tokens, options.seconds, options.warmupSeconds)
        : verifyWithBareJose(target.issuer, tokens, options.seconds, options.warmupSeconds);
    },
  },
  {
    id: 'token-exchange',
    title: 'token exchange (RFC 8693): a person’s JWT for API → JWT for API2 with act',
    unit: 'req/s',
    http: true,
    async run(target, options) {
      // One login gives the person's token (for API, scope read); every request exchanges that same token.
      const { access_token: subjectToken } = await createBrowser(target.issuer, target.credentials.web).login({ scope: 'openid read', resource: API });
      const request = {
        method: 'POST' as const,
        path: '/token',
        headers: { authorization: basicAuth(target.credentials.exchanger), 'content-type': FORM },
        body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', resource: API2, scope: 'read' }).toString(),
      };
      const probe = await fetch(`${target.issuer}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
      const answer = (await probe.json()) as { access_token?: string; error?: string; error_description?: string };
      if (probe.status !== 200 || !answer.access_token) throw new Error(`${target.name}: token exchange failed: ${probe.status} ${answer.error ?? ''} ${answer.error_description ?? ''}`);
      return measureHttp(target, request, options);
    },
  },
  {
    id: 'admin-clients',
    title: `Admin API: GET /admin/v1/clients?limit=50 (${ADMIN_BENCH_CLIENTS.toLocaleString('en')} clients)`,
    unit: 'req/s',
    http: true,
    latchkeyOnly: true,
    async run(target, options) {
      const admin = target.credentials.admin;
      if (!admin) throw new Error(`${target.name}: no admin client provisioned`);
      const response = await fetch(`${target.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(admin), 'content-type': FORM },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${target.issuer}/admin`, scope: 'clients:read' }).toString(),
      });
      const { access_token: token } = (await response.json()) as { access_token?: string };
      if (!token) throw new Error(`${target.name}: no admin token (${response.status})`);
      const request = { method: 'GET' as const, path: '/admin/v1/clients?limit=50', headers: { authorization: `Bearer ${token}` } };
      // One page, checked before any load: 50 clients and a cursor to the next page.
      const probe = (await (await fetch(`${target.issuer}${request.path}`, { headers: request.headers })).json()) as { items?: unknown[]; next_cursor?: string | null };
      if (probe.items?.length !== 50 || !probe.next_cursor) throw new Error(`${target.name}: the first page of clients is not 50 long with a next cursor`);
      return measureHttp(target, request, options);
    },
  },
];
