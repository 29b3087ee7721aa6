// Client registration rules (grant types, redirect URIs, auth methods), without a database.
import { describe, expect, it } from 'vitest';
import { errorOf } from '../helpers/error-of.ts';
import { parseClientRegistration, type ClientRegistrationInput } from '../../src/clients/client-validation.ts';
import { clientSecretMatches, generateClientSecret, hashClientSecret } from '../../src/clients/client-secret.ts';

type Env = 'production' | 'test';

describe('client registration: what is accepted', () => {
  it('defaults a web client to the code flow with refresh tokens and client_secret_basic', () => {
    expect(parseClientRegistration({ name: ' Web ', redirectUris: [' https://app.example.com/cb ', 'https://app.example.com/cb'] }, 'production')).toEqual({
      name: 'Web',
      applicationType: 'web',
      tokenEndpointAuthMethod: 'client_secret_basic',
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code'],
      redirectUris: ['https://app.example.com/cb'],
      postLogoutRedirectUris: [],
      scope: undefined,
      resources: [],
      jwksUri: undefined,
      requireVerifiedEmail: false,
      requireMfa: false,
      about: {},
      contacts: [],
      requirePar: false,
      requireDpop: false,
      tokenExchangeAudiences: [],
    });
  });

  it('takes the token-exchange grant by its short name, with its audiences (RFC 8693)', () => {
    const registration = parseClientRegistration({ name: 'A', grantTypes: ['token-exchange'], resources: ['https://a.example.com'], tokenExchangeAudiences: [' https://b.example.com ', 'https://b.example.com'] }, 'production');
    expect(registration).toMatchObject({ grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange'], responseTypes: [], tokenExchangeAudiences: ['https://b.example.com'] });
  });

  it('gives a client_credentials client no response types', () => {
    const registration = parseClientRegistration({ name: 'M', grantTypes: ['client_credentials', ' client_credentials'], resources: [' https://api.example.com '] }, 'production');
    expect(registration).toMatchObject({ grantTypes: ['client_credentials'], responseTypes: [], redirectUris: [], resources: ['https://api.example.com'] });
  });

  it('makes a public client with a private-use scheme a native app', () => {
    const registration = parseClientRegistration({ name: 'Phone', public: true, redirectUris: ['com.example.app:/cb', 'http://127.0.0.1/cb', 'http://[::1]/cb', 'http://localhost/cb'] }, 'production');
    expect(registration).toMatchObject({ applicationType: 'native', tokenEndpointAuthMethod: 'none' });
    expect(parseClientRegistration({ name: 'SPA', tokenEndpointAuthMethod: 'none', redirectUris: ['https://spa.example.com/cb'] }, 'production')).toMatchObject({ applicationType: 'web', tokenEndpointAuthMethod: 'none' });
  });

  it('accepts the device grant by its URN or as device_code, stored as the URN, public or confidential, with no redirect URI', () => {
    const urn = 'urn:ietf:params:oauth:grant-type:device_code';
    for (const given of [urn, 'device_code', ' device_code ']) {
      expect(parseClientRegistration({ name: 'TV', public: true, grantTypes: [given, 'refresh_token'] }, 'production')).toMatchObject({
        grantTypes: [urn, 'refresh_token'],
        responseTypes: [],
        redirectUris: [],
        tokenEndpointAuthMethod: 'none',
      });
    }
    expect(parseClientRegistration({ name: 'CLI', grantTypes: ['device_code', urn], requireMfa: true }, 'production')).toMatchObject({ grantTypes: [urn], tokenEndpointAuthMethod: 'client_secret_basic', requireMfa: true });
    expect(parseClientRegistration({ name: 'Both', redirectUris: ['https://a.example.com/cb'], grantTypes: ['authorization_code', 'device_code'] }, 'production')).toMatchObject({ grantTypes: ['authorization_code', urn], responseTypes: ['code'] });
  });

  const acceptedUris: [string, Env][] = [
    ['http://localhost:3000/cb', 'production'],
    ['http://127.0.0.2/cb', 'production'],
    ['http://[::1]/cb', 'production'],
    ['http://intranet.example/cb', 'test'],
    ['https://app.example.com/cb?tenant=a', 'production'],
  ];
  for (const [uri, env] of acceptedUris) {
    it(`accepts the web redirect URI ${uri} (${env})`, () => {
      expect(parseClientRegistration({ name: 'W', redirectUris: [uri] }, env).redirectUris).toEqual([uri]);
    });
  }

  it('keeps PAR and DPoP requirements (DPoP for a machine client too)', () => {
    expect(parseClientRegistration({ name: 'W', redirectUris: ['https://a.example.com/cb'], requirePar: true, requireDpop: true }, 'production')).toMatchObject({ requirePar: true, requireDpop: true });
    expect(parseClientRegistration({ name: 'M', grantTypes: ['client_credentials'], resources: ['https://api.example.com'], requireDpop: true }, 'production')).toMatchObject({ requireDpop: true });
  });

  it('keeps an explicit scope as distinct tokens and a private_key_jwt JWKS URI', () => {
    expect(
      parseClientRegistration(
        { name: 'J', redirectUris: ['https://a.example.com/cb'], scope: 'openid  read openid', tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: ' https://a.example.com/jwks ' },
        'production',
      ),
    ).toMatchObject({ scope: ['openid', 'read'], tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://a.example.com/jwks' });
  });
});

describe('client registration: what is refused', () => {
  const web = { name: 'X', redirectUris: ['https://app.example.com/cb'] };
  const cases: [string, ClientRegistrationInput, Env, string][] = [
    ['no name', { ...web, name: '' }, 'test', 'client name is required'],
    ['a 201-character name', { ...web, name: 'n'.repeat(201) }, 'test', 'longer than 200'],
    ['an unknown grant type', { ...web, grantTypes: ['authorization_code', 'implicit'] }, 'test', 'unknown grant type "implicit"'],
    ['the password grant', { ...web, grantTypes: ['password'] }, 'test', 'unknown grant type "password"'],
    ['only blank grant types', { ...web, grantTypes: [' ', ''] }, 'test', 'at least one grant type'],
    ['verified emails for a machine client', { name: 'M', grantTypes: ['client_credentials'], resources: ['https://api.example.com'], requireVerifiedEmail: true }, 'test', 'needs the authorization_code or device_code grant'],
    ['PAR required of a machine client', { name: 'M', grantTypes: ['client_credentials'], resources: ['https://api.example.com'], requirePar: true }, 'test', 'needs the authorization_code grant'],
    ['no redirect URI and no grant type', { name: 'X' }, 'test', 'or choose the client_credentials grant'],
    ['authorization_code without redirect URI', { name: 'X', grantTypes: ['authorization_code', 'refresh_token'] }, 'test', 'needs at least one redirect URI'],
    ['refresh_token with client_credentials only', { name: 'X', grantTypes: ['client_credentials', 'refresh_token'] }, 'test', 'only useful together with authorization_code or device_code'],
    ['a redirect URI on a device client', { name: 'X', grantTypes: ['device_code'], redirectUris: ['https://a.example.com/cb'] }, 'test', 'only with the authorization_code grant'],
    ['a misspelt device grant', { name: 'X', grantTypes: ['urn:ietf:params:oauth:grant-type:device-code'] }, 'test', 'unknown grant type'],
    ['a post-logout URI on a machine client', { name: 'X', grantTypes: ['client_credentials'], postLogoutRedirectUris: ['https://a.example.com/'] }, 'test', 'only with the authorization_code grant'],
    ['a relative redirect URI', { name: 'X', redirectUris: ['/cb'] }, 'test', 'is not an absolute URI'],
    ['a scheme-relative redirect URI', { name: 'X', redirectUris: ['//app.example.com/cb'] }, 'test', 'is not an absolute URI'],
    ['a fragment', { name: 'X', redirectUris: ['https://app.example.com/cb#'] }, 'test', 'must not contain a fragment'],
    ['credentials in the URI', { name: 'X', redirectUris: ['https://u:p@app.example.com/cb'] }, 'test', 'must not contain credentials'],
    ['http to a remote host in production', { name: 'X', redirectUris: ['http://app.example.com/cb'] }, 'production', 'must use https in production'],
    ['a too-long URI', { name: 'X', redirectUris: [`https://app.example.com/${'a'.repeat(2048)}`] }, 'test', 'longer than 2048'],
    ['javascript:', { name: 'X', public: true, redirectUris: ['javascript:alert(1)'] }, 'test', 'reverse-domain private-use scheme'],
    ['data:', { name: 'X', public: true, redirectUris: ['data:text/html,x'] }, 'test', 'reverse-domain private-use scheme'],
    ['a dotless custom scheme', { name: 'X', public: true, redirectUris: ['myapp:/cb'] }, 'test', 'reverse-domain private-use scheme'],
    ['a private-use scheme on a confidential client', { name: 'X', redirectUris: ['com.example.app:/cb'] }, 'test', 'only for public (native) clients'],
    ['a native app with a remote http URI (even outside production)', { name: 'X', public: true, redirectUris: ['com.example.app:/cb', 'http://dev.example.com/cb'] }, 'test', 'a native app may use http only with'],
    ['a native app with http on 127.0.0.2', { name: 'X', public: true, redirectUris: ['com.example.app:/cb', 'http://127.0.0.2/cb'] }, 'test', 'a native app may use http only with'],
    ['a native app with https to loopback', { name: 'X', public: true, redirectUris: ['com.example.app:/cb', 'https://localhost/cb'] }, 'test', 'must use http, not https'],
    ['a public client with client_credentials', { name: 'X', public: true, grantTypes: ['client_credentials'] }, 'test', 'public client cannot use the client_credentials grant'],
    ['auth method none with client_credentials', { name: 'X', tokenEndpointAuthMethod: 'none', grantTypes: ['client_credentials'] }, 'test', 'public client cannot use the client_credentials grant'],
    ['--public with private_key_jwt', { ...web, public: true, tokenEndpointAuthMethod: 'private_key_jwt' }, 'test', 'authenticates with "none", not "private_key_jwt"'],
    ['an unknown auth method', { ...web, tokenEndpointAuthMethod: 'client_secret_jwt' }, 'test', 'token endpoint auth method "client_secret_jwt" is not one of'],
    ['private_key_jwt without JWKS URI', { ...web, tokenEndpointAuthMethod: 'private_key_jwt' }, 'test', 'needs a JWKS URI'],
    ['private_key_jwt with an http JWKS URI (even outside production)', { ...web, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'http://localhost/jwks' }, 'test', 'must be an absolute https URL'],
    ['private_key_jwt with a JWKS URI fragment', { ...web, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://a.example.com/jwks#k' }, 'test', 'must be an absolute https URL'],
    ['a JWKS URI with client_secret_post', { ...web, tokenEndpointAuthMethod: 'client_secret_post', jwksUri: 'https://a.example.com/jwks' }, 'test', 'only with the private_key_jwt'],
    ['a bad scope token', { ...web, scope: 'openid "quoted"' }, 'test', 'not a valid scope token'],
    ['a blank explicit scope', { ...web, scope: '' }, 'test', 'scope must not be empty'],
    ['a javascript: logo_uri', { ...web, about: { logo_uri: 'javascript:alert(1)' } }, 'test', 'logo_uri "javascript:alert(1)" must be an absolute http or https URL'],
    ['a policy_uri with credentials', { ...web, about: { policy_uri: 'https://u:p@app.example.com/privacy' } }, 'test', 'without credentials'],
    ['an http tos_uri in production', { ...web, about: { tos_uri: 'http://app.example.com/terms' } }, 'production', 'tos_uri "http://app.example.com/terms" must use https in production'],
    ['a contact that is no address', { ...web, contacts: ['ops@example.com', 'ops'] }, 'test', 'contact "ops" is not an email address'],
    ['eleven contacts', { ...web, contacts: Array.from({ length: 11 }, (_, i) => `ops${i}@example.com`) }, 'test', 'at most 10 contacts'],
  ];
  for (const [label, input, env, message] of cases) {
    it(`refuses ${label}`, () => {
      expect(errorOf(() => parseClientRegistration(input, env))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining(message) });
    });
  }
});

describe('client secrets', () => {
  it('are 256-bit base64url strings, stored as lower-case hex SHA-256', () => {
    const secret = generateClientSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateClientSecret()).not.toBe(secret);
    expect(hashClientSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('match only their own digest, and a malformed digest never throws', () => {
    const secret = generateClientSecret();
    const digest = hashClientSecret(secret);
    expect(clientSecretMatches(secret, digest)).toBe(true);
    for (const [presented, stored] of [
      [`${secret}x`, digest],
      ['', digest],
      [secret, digest.toUpperCase()],
      [secret, digest.slice(1)],
      [secret, ''],
      [secret, 'z'.repeat(64)],
      [secret, secret],
    ] as const) {
      expect(clientSecretMatches(presented, stored)).toBe(false);
    }
  });
});
