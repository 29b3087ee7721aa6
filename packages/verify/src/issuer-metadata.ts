// Fetches the issuer's authorization-server metadata: RFC 8414 first, OpenID
// Connect Discovery as the fallback. Only the fields the verifier uses are
// kept, and the document must name the issuer we were configured with
// (RFC 8414 §3.3), so a misrouted URL cannot hand us someone else's keys.

export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwksUri: URL;
  readonly introspectionEndpoint?: URL;
}

export type Fetch = typeof globalThis.fetch;

export interface FetchOptions {
  readonly fetch: Fetch;
  readonly timeoutMs: number;
}

export function metadataUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  // RFC 8414 §3.1 inserts the well-known segment before the issuer's path;
  // OpenID Connect Discovery appends it.
  return [
    new URL(`${url.origin}/.well-known/oauth-authorization-server${path}`),
    new URL(`${url.origin}${path}/.well-known/openid-configuration`),
  ];
}

export async function fetchJson(url: URL, init: RequestInit, options: FetchOptions): Promise<unknown> {
  const response = await options.fetch(url, {
    ...init,
    headers: { accept: 'application/json', ...init.headers },
    redirect: 'error',
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${url.href} answered HTTP ${response.status}`);
  }
  return response.json();
}

export async function fetchIssuerMetadata(issuer: string, options: FetchOptions): Promise<IssuerMetadata> {
  const failures: unknown[] = [];
  for (const url of metadataUrls(issuer)) {
    let document: unknown;
    try {
      document = await fetchJson(url, {}, options);
    } catch (error) {
      failures.push(error);
      continue;
    }
    return parseMetadata(document, issuer);
  }
  throw new AggregateError(failures, `could not fetch the metadata of ${issuer}`);
}

function parseMetadata(document: unknown, issuer: string): IssuerMetadata {
  const fields = (document ?? {}) as Record<string, unknown>;
  if (fields.issuer !== issuer) {
    throw new Error(`the metadata names issuer ${JSON.stringify(fields.issuer)}, not ${issuer}`);
  }
  const jwksUri = parseUrl(fields.jwks_uri, 'jwks_uri');
  if (!jwksUri) throw new Error('the metadata has no jwks_uri');
  const introspectionEndpoint = parseUrl(fields.introspection_endpoint, 'introspection_endpoint');
  return introspectionEndpoint ? { issuer, jwksUri, introspectionEndpoint } : { issuer, jwksUri };
}

function parseUrl(value: unknown, name: string): URL | undefined {
  if (value === undefined) return undefined;
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(`the metadata ${name} is not an http(s) URL`);
  }
  return url;
}
