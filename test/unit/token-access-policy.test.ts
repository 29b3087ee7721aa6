// Who may introspect or revoke a token, for opaque tokens and JWTs alike.
import { describe, expect, it } from 'vitest';
import { mayIntrospect, mayRevoke } from '../../src/oidc/token-access-policy.ts';

const confidential = { clientId: 'rs', clientAuthMethod: 'client_secret_basic' };
const publicClient = { clientId: 'spa', clientAuthMethod: 'none' };

describe('mayIntrospect', () => {
  it.each([
    ['a confidential client, another client’s token', confidential, 'job', true],
    ['a confidential client, its own token', confidential, 'rs', true],
    ['a public client, its own token', publicClient, 'spa', true],
    ['a public client, another client’s token', publicClient, 'job', false],
  ])('%s: %s', (_name, caller, tokenClientId, allowed) => {
    expect(mayIntrospect(caller, tokenClientId)).toBe(allowed);
  });
});

describe('mayRevoke', () => {
  it('lets the token’s own client revoke it, public or not', () => {
    expect(mayRevoke(confidential, 'rs')).toBe(true);
    expect(mayRevoke(publicClient, 'spa')).toBe(true);
  });

  it('ignores a public client’s attempt on another client’s token', () => {
    expect(mayRevoke(publicClient, 'job')).toBe(false);
  });

  it('tells a confidential client it may not revoke another client’s token (invalid_request)', () => {
    expect(() => mayRevoke(confidential, 'job')).toThrow(expect.objectContaining({ error: 'invalid_request', statusCode: 400 }));
  });
});
