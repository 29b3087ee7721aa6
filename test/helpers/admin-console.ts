// The console's side of the admin resource for tests: the resource (the
// server ensures it at boot; ensureAdminResource waits for nothing and
// creates it only if missing), a person with a role, and a sign-in through
// the console's client (latchkey-admin, code + PKCE) that ends at its
// callback with tokens.
import { decodeJwt } from 'jose';
import { ADMIN_CLIENT_ID, ADMIN_CALLBACK_PATH } from '../../src/oidc/admin-client.ts';
import { ADMIN_SCOPES, adminResourceIdentifier } from '../../src/oidc/role-scopes.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, parseForms, UserAgent } from './rp.ts';
import type { TestServer } from './server.ts';

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

/**
 * A browser without JavaScript signed in to the console as `email`: /admin
 * sends it to sign in, the login page takes the password, and it comes back
 * through /admin/callback to the page it asked for. Returns the agent and
 * that page.
 */
export async function consoleSignIn(server: TestServer, email: string, path = '/admin') {
  const agent = new UserAgent(new URL(server.issuer).origin);
  const login = await agent.open(path);
  if (heading(login) !== 'Sign in') throw new Error(`expected the login page, got: ${expectPage(login).html.slice(0, 400)}`);
  const page = expectPage(await agent.submit(login, { email, password: ADMIN_PASSWORD }));
  return { agent, page };
}

/** The console form token on a page (every signed-in page has one, in its sign-out form). */
export function formTokenOf(html: string): string {
  const token = parseForms(html).find((form) => form.fields.token)?.fields.token;
  if (!token) throw new Error('no form token on the page');
  return token;
}

/** Fills `values` into the page's form whose action ends with `action` and sends it (the sign-out form comes first on every page). */
export function submitForm(agent: UserAgent, page: { html: string; url: URL }, action: string, values: Record<string, string> = {}) {
  const form = parseForms(page.html).find((candidate) => candidate.action === action || candidate.action.endsWith(action));
  if (!form) throw new Error(`no form posting to ${action} on ${page.url.href}`);
  const body = new URLSearchParams(form.fields);
  for (const [name, value] of Object.entries(values)) body.set(name, value);
  return agent.post(new URL(form.action, page.url), body);
}
