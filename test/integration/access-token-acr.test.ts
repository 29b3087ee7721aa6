// JWT access tokens say how the person signed in (acr, amr, auth_time; RFC
// 9068 §2.2.1), over real HTTP with a real relying party asking for an API
// (resource=): a password sign-in's token says the password level, a
// sign-in with an authenticator app the MFA level; a refreshed token keeps
// the level of the sign-in it came from, even after the browser session
// stepped up; a client-credentials token, where nobody signed in, says none.
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_MFA, ACR_PASSWORD } from '../../src/interactions/acr.ts';
import { codeAt, enrol, postForm, secretOn } from '../helpers/mfa.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, UserAgent, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';
const ORDERS = 'https://orders.example.test/api';
// offline_access is honoured only with prompt=consent (OpenID Connect Core §11).
const ASK = { scope: 'openid orders:read offline_access', prompt: 'consent', resource: ORDERS };

let server: TestServer;
let app: { id: string; secret: string };
let job: { id: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  const { resources, clients } = server.services;
  await resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
  const [web, batch] = await Promise.all([
    clients.create({ name: 'Web app', redirectUris: [CALLBACK], resources: [ORDERS] }),
    clients.create({ name: 'Order job', grantTypes: ['client_credentials'], resources: [ORDERS] }),
  ]);
  app = { id: web.client.clientId, secret: web.clientSecret! };
  job = { id: batch.client.clientId, secret: batch.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

let accounts = 0;
const relyingParty = () => createRelyingParty({ issuer: server.issuer, clientId: app.id, clientSecret: app.secret, redirectUri: CALLBACK });
const claimsOf = (token: string) => decodeJwt(token) as { acr?: unknown; amr?: unknown; auth_time?: unknown; aud?: unknown; sub?: unknown };
const levelOf = (token: string) => {
  const { acr, amr, auth_time } = claimsOf(token);
  return { acr, amr, auth_time };
};
// Without resource= a refresh would answer an opaque token for userinfo: the API is named again.
const refresh = (rp: RelyingParty, refreshToken: string) => oidc.refreshTokenGrant(rp.config, refreshToken, { resource: ORDERS });

/** Password, then the code when asked, then Allow: the tokens of the exchange. */
async function signIn(rp: RelyingParty, email: string, code?: () => string, params: Record<string, string> = ASK) {
  const request = await rp.authorizationRequest(params);
  let page = expectPage(await rp.browser.submit(await rp.browser.open(request.url), { email, password: PASSWORD }));
  if (code) {
    expect(heading(page)).toBe('Enter your code');
    page = expectPage(await rp.browser.submit(page, { code: code() }));
  }
  const tokens = await rp.exchange(expectRedirect(await rp.browser.submit(page, {}, 'Allow')), request);
  expect(claimsOf(tokens.access_token).aud).toBe(ORDERS);
  return tokens;
}

describe('a JWT access token for an API', () => {
  it('says the password level for a password sign-in, at the code exchange and after refreshes', async () => {
    const email = `plain${++accounts}@example.test`;
    await server.services.accounts.create({ email, password: PASSWORD });
    const rp = await relyingParty();
    const tokens = await signIn(rp, email);
    const level = levelOf(tokens.access_token);
    expect(level).toEqual({ acr: ACR_PASSWORD, amr: ['pwd'], auth_time: expect.any(Number) });
    expect(tokens.claims()).toMatchObject({ acr: level.acr, amr: level.amr });

    const once = await refresh(rp, tokens.refresh_token!);
    const twice = await refresh(rp, once.refresh_token!);
    expect([levelOf(once.access_token), levelOf(twice.access_token)]).toEqual([level, level]);
  });

  it('says the MFA level for a sign-in with an authenticator app, at the code exchange and after refreshes', async () => {
    const email = `mfa${++accounts}@example.test`;
    await server.services.accounts.create({ email, password: PASSWORD });
    const { secret } = await enrol(new UserAgent(new URL(server.issuer).origin), email, PASSWORD, -1);
    const rp = await relyingParty();
    const tokens = await signIn(rp, email, () => codeAt(secret));
    const level = levelOf(tokens.access_token);
    expect(level).toEqual({ acr: ACR_MFA, amr: ['pwd', 'otp', 'mfa'], auth_time: expect.any(Number) });
    expect(tokens.claims()).toMatchObject({ acr: level.acr, amr: level.amr });

    const once = await refresh(rp, tokens.refresh_token!);
    const twice = await refresh(rp, once.refresh_token!);
    expect([levelOf(once.access_token), levelOf(twice.access_token)]).toEqual([level, level]);
  });

  it('keeps, at a refresh, the level of the sign-in it came from, although the session has stepped up since', async () => {
    const email = `stepup${++accounts}@example.test`;
    await server.services.accounts.create({ email, password: PASSWORD });
    const rp = await relyingParty();
    const before = await signIn(rp, email);
    expect(levelOf(before.access_token).acr).toBe(ACR_PASSWORD);

    // An app is added on the account page in the same browser, then the client asks for the MFA level: only the code.
    const started = expectPage(await postForm(rp.browser, expectPage(await rp.browser.open('/account')), '/account/mfa/totp/start'));
    const secret = secretOn(started);
    await postForm(rp.browser, started, '/account/mfa/totp/confirm', { code: codeAt(secret, -1) });
    const request = await rp.authorizationRequest({ ...ASK, acr_values: ACR_MFA });
    const prompt = expectPage(await rp.browser.open(request.url));
    expect(heading(prompt)).toBe('Enter your code');
    const consent = expectPage(await rp.browser.submit(prompt, { code: codeAt(secret) }));
    const after = await rp.exchange(expectRedirect(await rp.browser.submit(consent, {}, 'Allow')), request);
    expect(levelOf(after.access_token)).toMatchObject({ acr: ACR_MFA, amr: ['pwd', 'otp', 'mfa'] });

    expect(levelOf((await refresh(rp, before.refresh_token!)).access_token)).toEqual(levelOf(before.access_token));
    expect(levelOf((await refresh(rp, after.refresh_token!)).access_token)).toEqual(levelOf(after.access_token));
  });

  it('says nothing of a sign-in for a client-credentials token', async () => {
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${job.id}:${job.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    expect(claimsOf(token)).toMatchObject({ aud: ORDERS, sub: job.id });
    expect(levelOf(token)).toEqual({ acr: undefined, amr: undefined, auth_time: undefined });
  });
});
