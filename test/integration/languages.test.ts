// Pages in the reader's language over real HTTP: the login page in German
// for ui_locales=de and for Accept-Language: de, ui_locales before
// Accept-Language, English for a language there is no catalog for, a login
// error and the consent page in the interaction's language, the logout
// confirmation and error pages, and ui_locales_supported in discovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelyingParty, expectPage, heading, parseForms, signInAndAllow, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';

let server: TestServer;
let client: { id: string; secret: string };
let ada: { email: string };

beforeAll(async () => {
  server = await startTestServer();
  const { accounts, clients } = server.services;
  ada = await accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: PASSWORD });
  const created = await clients.create({ name: 'Fotoalbum <Familie>', redirectUris: [CALLBACK] });
  client = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

const newRp = () => createRelyingParty({ issuer: server.issuer, clientId: client.id, clientSecret: client.secret, redirectUri: CALLBACK });
const lang = (html: string) => /<html lang="([^"]*)">/.exec(html)?.[1];
const alert = (html: string) => /<p class="error" role="alert" id="login-error">([^<]*)<\/p>/.exec(html)?.[1];
const labels = (html: string) => [...html.matchAll(/<label for="\w+">([^<]*)<\/label>/g)].map((match) => match[1]);

/** The login page of a fresh authorization request with `params`, opened with `headers`. */
async function loginPage(rp: RelyingParty, params: Record<string, string>, headers: Record<string, string> = {}) {
  const request = await rp.authorizationRequest(params);
  return expectPage(await rp.browser.open(request.url, { headers }));
}

describe('the login page', () => {
  it('is in German for ui_locales=de', async () => {
    const login = await loginPage(await newRp(), { ui_locales: 'de' });
    expect(login.status).toBe(200);
    expect(lang(login.html)).toBe('de');
    expect(heading(login)).toBe('Anmelden');
    expect(login.html).toContain('<title>Anmelden · Latchkey</title>');
    expect(login.html).toContain('um mit <strong>Fotoalbum &lt;Familie&gt;</strong> fortzufahren');
    expect(labels(login.html)).toEqual(['E-Mail', 'Passwort']);
    expect(parseForms(login.html)[0]!.buttons.map((button) => button.label)).toEqual(['Anmelden', 'Abbrechen']);
    expect(login.html).not.toContain('Sign in');
  });

  it('is in German for Accept-Language: de, with q-values and a regional tag', async () => {
    for (const acceptLanguage of ['de', 'de-CH,de;q=0.9,en;q=0.5', 'fr;q=1, de-AT;q=0.8, en;q=0.1']) {
      const login = await loginPage(await newRp(), {}, { 'accept-language': acceptLanguage });
      expect(lang(login.html), acceptLanguage).toBe('de');
      expect(heading(login), acceptLanguage).toBe('Anmelden');
    }
  });

  it('takes ui_locales before Accept-Language, and its first language that has a catalog', async () => {
    const english = await loginPage(await newRp(), { ui_locales: 'en' }, { 'accept-language': 'de' });
    expect(lang(english.html)).toBe('en');
    expect(heading(english)).toBe('Sign in');
    const german = await loginPage(await newRp(), { ui_locales: 'fr-CA fr de-DE en' }, { 'accept-language': 'en' });
    expect(lang(german.html)).toBe('de');
    expect(heading(german)).toBe('Anmelden');
  });

  it.each([
    ['no language asked for', {}, {}],
    ['ui_locales with no catalog', { ui_locales: 'fr ja' }, {}],
    ['Accept-Language with no catalog', {}, { 'accept-language': 'fr-FR,fr;q=0.9' }],
    ['both with no catalog', { ui_locales: 'pt-BR' }, { 'accept-language': 'ja' }],
    ['a wildcard', {}, { 'accept-language': '*' }],
    ['nonsense', { ui_locales: '!!! ..' }, { 'accept-language': ';;;q=x' }],
  ])('falls back to English for %s', async (_case, params: Record<string, string>, headers: Record<string, string>) => {
    const login = await loginPage(await newRp(), params, headers);
    expect(login.status).toBe(200);
    expect(lang(login.html)).toBe('en');
    expect(heading(login)).toBe('Sign in');
    expect(labels(login.html)).toEqual(['Email', 'Password']);
  });

  it('says a wrong password in German, and keeps German through to the consent page', async () => {
    const rp = await newRp();
    // ui_locales only: no Accept-Language on any request, so the interaction's params carry the language.
    const login = await loginPage(rp, { ui_locales: 'de', scope: 'openid profile' });
    const refused = expectPage(await rp.browser.submit(login, { email: ada.email, password: 'wrong' }));
    expect(refused.status).toBe(400);
    expect(lang(refused.html)).toBe('de');
    expect(alert(refused.html)).toBe('E-Mail oder Passwort ist falsch');

    const consent = expectPage(await rp.browser.submit(refused, { email: ada.email, password: PASSWORD }));
    expect(lang(consent.html)).toBe('de');
    expect(heading(consent)).toBe('Fotoalbum &lt;Familie&gt; möchte auf Ihr Konto zugreifen');
    expect(consent.html).toContain('<li>Ihren Namen</li>');
    expect(consent.html).toContain('Angemeldet als <strong>ada@example.test</strong>');
    expect(parseForms(consent.html)[0]!.buttons.map((button) => button.label)).toEqual(['Erlauben', 'Ablehnen']);
  });
});

describe('other pages', () => {
  it('words an error page in the browser language', async () => {
    const rp = await newRp();
    const german = { headers: { 'accept-language': 'de' } };
    const expired = expectPage(await rp.browser.open('/interaction/nope', german));
    expect(expired.status).toBe(400);
    expect(lang(expired.html)).toBe('de');
    expect(heading(expired)).toBe('Diese Anmeldeanfrage ist abgelaufen');
    expect(expired.html).toContain('Fehlercode: <code>interaction_expired</code>');
    const missing = expectPage(await rp.browser.open('/interaction/nope/elsewhere', german));
    expect(missing.status).toBe(404);
    expect(heading(missing)).toBe('Diese Seite gibt es nicht');
    const english = expectPage(await rp.browser.open('/interaction/nope/elsewhere'));
    expect(lang(english.html)).toBe('en');
    expect(heading(english)).toBe('This page does not exist');
  });

  it('words the provider\'s own error page in the language of the request', async () => {
    const rp = await newRp();
    const request = await rp.authorizationRequest({ ui_locales: 'de', redirect_uri: 'https://evil.example.test/cb' });
    const refused = expectPage(await rp.browser.open(request.url));
    expect(refused.status).toBe(400);
    expect(lang(refused.html)).toBe('de');
    expect(heading(refused)).toBe('Diese Anfrage kann nicht abgeschlossen werden');
  });

  it('asks for a sign-out in the logout request\'s ui_locales', async () => {
    const rp = await newRp();
    await signInAndAllow(rp, { email: ada.email, password: PASSWORD });
    const confirmation = expectPage(await rp.browser.open(rp.endSessionUrl({ ui_locales: 'de' })));
    expect(lang(confirmation.html)).toBe('de');
    expect(heading(confirmation)).toBe('Abmelden?');
    expect(parseForms(confirmation.html)[0]!.buttons.map((button) => button.label)).toEqual(['Abmelden', 'Nur von Fotoalbum <Familie> abmelden']);
    const done = expectPage(await rp.browser.submit(confirmation, {}, 'Abmelden'));
    expect(done.url.pathname).toBe('/session/end/success');
    // oidc-provider's success route takes no ui_locales: the signed-out page goes by the browser's language.
    const signedOut = expectPage(await rp.browser.open(done.url, { headers: { 'accept-language': 'de' } }));
    expect(lang(signedOut.html)).toBe('de');
    expect(heading(signedOut)).toBe('Sie sind abgemeldet');
  });

  it('advertises the languages in discovery', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.ui_locales_supported).toEqual(['en', 'de']);
    expect(metadata.claim_types_supported).toEqual(['normal']);
  });
});
