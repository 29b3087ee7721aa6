// Resource registration rules and RFC 6749 §3.3 scope syntax, without a database.
import { describe, expect, it } from 'vitest';
import { errorOf } from '../helpers/error-of.ts';
import { parseScopeTokens } from '../../src/resources/scope.ts';
import { parseAccessTokenTtl, parseResourceIdentifier, parseResourceScopes, parseSigningAlg } from '../../src/resources/resource-validation.ts';

describe('scope tokens', () => {
  it('accepts every printable ASCII character but space, " and \\, deduplicated in order', () => {
    expect(parseScopeTokens(['read write', 'read', ' admin:all  x!#$%&()*+,-./;<=>?@[]^_`{|}~ '])).toEqual(['read', 'write', 'admin:all', 'x!#$%&()*+,-./;<=>?@[]^_`{|}~']);
    expect(parseScopeTokens('  ')).toEqual([]);
  });

  for (const token of ['a"b', 'a\\b', 'café', 'tab\there', 'new\nline', '\u007f']) {
    it(`refuses ${JSON.stringify(token)}`, () => {
      expect(errorOf(() => parseScopeTokens(['ok', token]))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('not a valid scope token') });
    });
  }
});

describe('resource identifier', () => {
  const accepted: [string, 'production' | 'test', string][] = [
    ['https://api.example.com', 'production', 'https://api.example.com'],
    ['  https://api.example.com/v1?tenant=a ', 'production', 'https://api.example.com/v1?tenant=a'],
    ['http://localhost:4000', 'production', 'http://localhost:4000'],
    ['http://127.0.0.1/api', 'production', 'http://127.0.0.1/api'],
    ['http://[::1]:8080/', 'production', 'http://[::1]:8080/'],
    ['http://api.internal', 'test', 'http://api.internal'],
  ];
  for (const [raw, env, expected] of accepted) {
    it(`keeps ${raw.trim()} (${env}) exactly as given`, () => {
      expect(parseResourceIdentifier(raw, env)).toBe(expected);
    });
  }

  const refused: [string, 'production' | 'test', string][] = [
    ['', 'test', 'is required'],
    ['api.example.com', 'test', 'not an absolute URL'],
    ['/api', 'test', 'not an absolute URL'],
    ['https://api.example.com/#top', 'test', 'fragment'],
    ['https://api.example.com/#', 'test', 'fragment'],
    ['https://user:pw@api.example.com', 'test', 'credentials'],
    ['ftp://api.example.com', 'test', 'https URL'],
    ['urn:ietf:params:api', 'test', 'https URL'],
    ['http://api.example.com', 'production', 'https in production'],
    ['http://127.0.0.1.example.com', 'production', 'https in production'],
    [`https://api.example.com/${'a'.repeat(2048)}`, 'test', 'longer than 2048'],
  ];
  for (const [raw, env, message] of refused) {
    it(`refuses ${JSON.stringify(raw.slice(0, 40))} (${env})`, () => {
      expect(errorOf(() => parseResourceIdentifier(raw, env))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining(message) });
    });
  }
});

describe('scopes, TTL and algorithm', () => {
  it('needs at least one scope', () => {
    expect(parseResourceScopes(['a b', 'a'])).toEqual(['a', 'b']);
    for (const scopes of [[], [''], [' ', '  ']]) {
      expect(errorOf(() => parseResourceScopes(scopes))).toMatchObject({ code: 'invalid_input', message: 'a resource needs at least one scope' });
    }
  });

  it('takes 1..86400 whole seconds, defaulting to the configured TTL', () => {
    expect(parseAccessTokenTtl(undefined, 900)).toBe(900);
    expect(parseAccessTokenTtl(1, 900)).toBe(1);
    expect(parseAccessTokenTtl(86400, 900)).toBe(86400);
    for (const ttl of [0, -5, 86401, 1.5, Number.NaN]) {
      expect(errorOf(() => parseAccessTokenTtl(ttl, 900))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('from 1 to 86400') });
    }
    expect(errorOf(() => parseAccessTokenTtl(undefined, 90000))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('explicit TTL') });
  });

  it('signs with ES256 unless RS256 or EdDSA is asked for', () => {
    expect(parseSigningAlg(undefined)).toBe('ES256');
    expect(parseSigningAlg('RS256')).toBe('RS256');
    expect(parseSigningAlg('EdDSA')).toBe('EdDSA');
    for (const alg of ['HS256', 'none', 'es256', '']) {
      expect(errorOf(() => parseSigningAlg(alg))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('not one of ES256, RS256, EdDSA') });
    }
  });
});
