// Helpers for tests of the Admin API (/admin/v1) and its console: an admin
// client registered through the services (or the CLI) the ordinary way, a
// client-credentials token for the admin resource with the scopes asked for,
// a small JSON client for the API, `until`, polling a condition; and (from
// the console's branch) the admin resource for servers that do not ensure it
// yet, a person with a role, and a sign-in through the console's client
// (latchkey-admin, code + PKCE) that ends at its callback with tokens.
import { decodeJwt } from 'jose';
import { ADMIN_CLIENT_ID, ADMIN_CALLBACK_PATH } from '../../src/oidc/admin-client.ts';
import { adminResourceIdentifier, ADMIN_SCOPES, type AdminScope } from '../../src/resources/admin-resource.ts';
import { runCli } from './cli.ts';
import { createRelyingParty, expectPage, expectRedirect, heading } from './rp.ts';
import type { TestServer } from './server.ts';

export interface AdminClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Polls `check` until it returns a truthy value (which it resolves to); fails after `timeoutMs`. */
export async function until<T>(check: () => Promise<T> | T, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A client_credentials client for the admin resource allowed `scopes`, registered through the services. */
export async function createAdminClient(server: TestServer, scopes: readonly AdminScope[] = ADMIN_SCOPES, name = 'ops'): Promise<AdminClient> {
  const { client, clientSecret } = await server.services.clients.create({
    name,
    grantTypes: ['client_credentials'],
    resources: [adminResourceIdentifier(server.issuer)],
    scope: scopes.join(' '),
  });
  return { clientId: client.clientId, clientSecret: clientSecret! };
}

/** The same, registered by the real CLI exactly as the README says (`--json` output). */
export async function createAdminClientWithCli(server: TestServer, scopes: readonly AdminScope[] = ADMIN_SCOPES, name = 'ops'): Promise<AdminClient> {
  const result = await runCli(
    ['client', 'create', '--name', name, '--grant-types', 'client_credentials', '--resource', adminResourceIdentifier(server.issuer), '--scope', scopes.join(' '), '--json'],
    { env: { DATABASE_URL: server.database.url, ISSUER: server.issuer } },
  );
  if (result.code !== 0) throw new Error(`latchkey client create failed: ${result.stderr}`);
  const { client, clientSecret } = JSON.parse(result.stdout) as { client: { clientId: string }; clientSecret: string };
  return { clientId: client.clientId, clientSecret };
}

/**
 * A client-credentials access token for the admin resource (or `resource`),
 * with `scopes` (all the client may have when absent).
 */
export async function clientCredentialsToken(server: TestServer, client: AdminClient, options: { scopes?: readonly string[]; resource?: string } = {}): Promise<string> {
  const form: Record<string, string> = { grant_type: 'client_credentials', resource: options.resource ?? adminResourceIdentifier(server.issuer) };
  if (options.scopes) form.scope = options.scopes.join(' ');
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams(form),
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** An admin client with `scopes` and a token carrying them, in one call. */
export async function adminToken(server: TestServer, scopes: readonly AdminScope[] = ADMIN_SCOPES): Promise<string> {
  return clientCredentialsToken(server, await createAdminClient(server, scopes));
}

export interface AdminResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON (problem+json included), or undefined for an empty body. */
  readonly body: T;
}

export interface AdminRequest {
  readonly method?: string;
  readonly token?: string;
  /** Sent as JSON unless `rawBody` is given. */
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Calls `path` (relative to /admin/v1, e.g. `/clients?limit=2`) and parses the answer. */
export async function adminCall<T = any>(server: Pick<TestServer, 'issuer'>, path: string, request: AdminRequest = {}): Promise<AdminResponse<T>> {
  const hasBody = request.body !== undefined || request.rawBody !== undefined;
  const response = await fetch(`${server.issuer}/admin/v1${path}`, {
    method: request.method ?? (hasBody ? 'POST' : 'GET'),
    headers: {
      ...(request.token && { authorization: `Bearer ${request.token}` }),
      ...(hasBody && { 'content-type': request.contentType ?? 'application/json' }),
      ...request.headers,
    },
    ...(hasBody && { body: request.rawBody ?? JSON.stringify(request.body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export const ADMIN_PASSWORD = 'correct horse battery staple';

/** The admin resource, created when the server has not made it itself. */
export async function ensureAdminResource(server: TestServer): Promise<string> {
  const identifier = adminResourceIdentifier(server.issuer);
  if (!(await server.services.resources.findByIdentifier(identifier))) {
    await server.services.resources.create({ identifier, scopes: [...ADMIN_SCOPES] });
  }
  return identifier;
}

/** A person with `role`, password ADMIN_PASSWORD. */
export async function createPerson(server: TestServer, email: string, role: 'admin' | 'viewer' | 'none') {
  const account = await server.services.accounts.create({ email, password: ADMIN_PASSWORD });
  return role === 'none' ? account : server.services.accounts.setRole(account.id, role);
}

/** The admin scopes an access token carries (none when it is not a JWT for the admin resource). */
export function adminScopesOf(accessToken: string, issuer: string): string[] {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(accessToken);
  } catch {
    return [];
  }
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(adminResourceIdentifier(issuer))) return [];
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter((scope) => (ADMIN_SCOPES as readonly string[]).includes(scope)) : [];
}

/** Signs `email` in through the console's client, with openid-client, straight to the token endpoint. */
export async function adminClientTokens(server: TestServer, email: string) {
  const rp = await createRelyingParty({ issuer: server.issuer, clientId: ADMIN_CLIENT_ID, redirectUri: `${server.issuer}${ADMIN_CALLBACK_PATH}` });
  const request = await rp.authorizationRequest({ scope: `openid ${ADMIN_SCOPES.join(' ')}`, resource: adminResourceIdentifier(server.issuer) });
  const login = await rp.browser.open(request.url);
  if (heading(login) !== 'Sign in') throw new Error(`expected the login page, got: ${expectPage(login).html.slice(0, 400)}`);
  // No consent page: the console's grant stands (existing-grant.ts).
  const callback = expectRedirect(await rp.browser.submit(login, { email, password: ADMIN_PASSWORD }));
  const tokens = await rp.exchange(callback, request);
  return { rp, tokens };
}
