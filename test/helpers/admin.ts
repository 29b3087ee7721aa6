// The admin resource and its built-in client for tests: the resource as the
// server ensures it at boot (created here when this branch's server does not
// yet), a person with a role, and a sign-in through the console's client
// (latchkey-admin, code + PKCE) that ends at its callback with tokens.
import { decodeJwt } from 'jose';
import { ADMIN_CLIENT_ID, ADMIN_CALLBACK_PATH } from '../../src/oidc/admin-client.ts';
import { ADMIN_SCOPES, adminResourceIdentifier } from '../../src/oidc/role-scopes.ts';
import { createRelyingParty, expectPage, expectRedirect, heading } from './rp.ts';
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
