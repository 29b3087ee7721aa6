// oidc-provider's outgoing requests (its `fetch` option), with one exception
// to its SSRF filter, which refuses private and loopback addresses: logout
// tokens. Back-channel logout URIs are registered by an administrator (there
// is no dynamic registration) and usually point into the network Latchkey
// runs in (compose, Kubernetes), where that filter would drop every one.
// Every other outgoing request (jwks_uri, …) keeps the filter.

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function isLogoutTokenDelivery(init: RequestInit | undefined): boolean {
  return init?.method === 'POST' && init.body instanceof URLSearchParams && init.body.has('logout_token');
}

export function createProviderFetch(fetchImpl: Fetch = globalThis.fetch): Fetch {
  return (input, init) => {
    if (!isLogoutTokenDelivery(init)) return fetchImpl(input, init);
    const { dispatcher: _ssrfFilter, ...rest } = init as RequestInit & { dispatcher?: unknown };
    return fetchImpl(input, rest);
  };
}
