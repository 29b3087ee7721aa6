// oidc-provider's outgoing requests (its `fetch` option), with one exception:
// the logout tokens it posts at RP-initiated logout (end_session) are not
// sent. oidc-provider decides which clients of the ending session are owed
// one (all of them, or the asking client only) and posts each a token; that
// post is fire-and-forget, lost when the RP is down. Here it is read (the
// token's aud, sub and sid: what the library just signed, not input from
// outside) and queued like every other end of a session
// (logout-notices.ts), and answered 200 so the library counts it a success.
// The queue's sender delivers it with a token of its own, signed then
// (logout-token.ts). Every other outgoing request (jwks_uri, …) goes out as
// asked, through oidc-provider's SSRF filter.
import { decodeJwt } from 'jose';
import type { LogoutNotices } from './logout-notices.ts';

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function logoutTokenOf(init: RequestInit | undefined): string | undefined {
  if (init?.method !== 'POST' || !(init.body instanceof URLSearchParams)) return undefined;
  return init.body.get('logout_token') ?? undefined;
}

export function createProviderFetch(notices: Pick<LogoutNotices, 'queue'>, fetchImpl: Fetch = globalThis.fetch): Fetch {
  return async (input, init) => {
    const token = logoutTokenOf(init);
    if (token === undefined) return fetchImpl(input, init);
    const { aud, sub, sid } = decodeJwt(token);
    const clientId = Array.isArray(aud) ? aud[0] : aud;
    if (typeof clientId !== 'string' || typeof sub !== 'string') throw new TypeError('oidc-provider posted a logout token without aud or sub');
    // A failure (the database away) rejects: oidc-provider reports it as backchannel.error (provider-builder.ts logs it).
    await notices.queue([{ clientId, accountId: sub, sid: typeof sid === 'string' ? sid : null }], 'logout');
    return new Response(null, { status: 200 });
  };
}
