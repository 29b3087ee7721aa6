// Helpers for tests of the admin console (/admin): a browser without
// JavaScript signed in as someone, the form token on a page, and a form
// sent by its action. The shared ones (a person with a role, tokens through
// latchkey-admin) live in admin.ts and are re-exported here.
import { ADMIN_PASSWORD } from './admin.ts';
import { expectPage, heading, parseForms, UserAgent } from './rp.ts';
import type { TestServer } from './server.ts';

// The admin resource, a person with a role, and a sign-in through the console's client straight to its tokens.
export { ADMIN_PASSWORD, adminClientTokens, adminScopesOf, createPerson, ensureAdminResource } from './admin.ts';

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
