// What the consent page promises about offline access must be true: it lasts
// until the grant expires (LATCHKEY_GRANT_TTL, here 3 days) or the app or an
// administrator ends it, and signing out does not end it (logout.test.ts
// checks that a refresh token survives a sign-out). There is no page yet
// where the person could remove it, so the page must not say there is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelyingParty, expectPage, heading } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = { email: 'consent@example.test', password: 'correct horse battery staple' };
const CALLBACK = 'https://app.example.test/cb';

let server: TestServer;
let app: { id: string; secret: string };

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_GRANT_TTL: String(3 * 24 * 3600) } });
  await server.services.accounts.create(USER);
  const created = await server.services.clients.create({ name: 'Diary', redirectUris: [CALLBACK], grantTypes: ['authorization_code', 'refresh_token'] });
  app = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

/** The consent page's list items, as text. */
function consentItems(html: string): string[] {
  return [...html.matchAll(/<li>([\s\S]*?)<\/li>/g)].map(([, item]) => item!.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim());
}

describe('the consent page on offline access', () => {
  it('says how long it lasts, that signing out does not end it, and who can end it', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: app.id, clientSecret: app.secret, redirectUri: CALLBACK });
    const request = await rp.authorizationRequest({ scope: 'openid offline_access', prompt: 'consent' });
    const consent = expectPage(await rp.browser.submit(await rp.browser.open(request.url), USER));
    expect(heading(consent)).toBe('Diary wants to access your account');
    expect(consentItems(consent.html)).toContain(
      'Access while you are not using it, for up to 3 days, even after you sign out of Latchkey. Diary can give it up sooner, and an administrator can end it.',
    );
    expect(consent.html).not.toContain('until you sign out');
    expect(consent.html).not.toContain('remove it');
  });

  it('says nothing about offline access when it is not asked for', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: app.id, clientSecret: app.secret, redirectUri: CALLBACK });
    const request = await rp.authorizationRequest({ scope: 'openid', prompt: 'consent' });
    const consent = expectPage(await rp.browser.submit(await rp.browser.open(request.url), USER));
    expect(consentItems(consent.html).join('\n')).not.toContain('while you are not using it');
  });
});
