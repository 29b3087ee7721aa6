// What every upstream client (oidc-upstream.ts, github-upstream.ts) hands
// back after a successful round trip, in one shape, and the one error they
// throw otherwise. The error carries a stable code for the page, the audit
// event and the log; its message names what went wrong, never a token, a
// code or a secret (they are not in the messages openid-client produces, and
// we never copy a response body into one).

/** Who the upstream says signed in. */
export interface UpstreamIdentity {
  /** The upstream's stable id for the person (`sub`, or GitHub's numeric user id as a string). */
  readonly subject: string;
  /** The email the upstream gave, if any (not yet normalised). */
  readonly email: string | undefined;
  /** True only when the upstream says, in so many words, that it verified that email. */
  readonly emailVerified: boolean;
  readonly name: string | undefined;
  /** An http(s) URL of the person's picture. */
  readonly picture: string | undefined;
}

/** The provider fields the upstream clients read (a subset of the identity provider service's view). */
export interface UpstreamProvider {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly type: 'oidc' | 'github';
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly updatedAt: Date;
}

/** What has to survive the round trip to the upstream: kept server-side, in the interaction. */
export interface UpstreamChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export interface UpstreamClient {
  /** The URL to send the browser to, with fresh state, nonce and PKCE (S256). */
  begin(provider: UpstreamProvider, redirectUri: string): Promise<{ readonly url: URL; readonly checks: UpstreamChecks }>;
  /** Validates the callback, redeems its code and reads who signed in. `callbackUrl` is the redirect URI plus the query the upstream sent. */
  finish(provider: UpstreamProvider, callbackUrl: URL, checks: UpstreamChecks): Promise<UpstreamIdentity>;
}

export type UpstreamFailure =
  /** No answer: connection refused, DNS, timeout. */
  | 'upstream_unreachable'
  /** An answer that is not what the configuration expects: discovery failing or naming another issuer, a refused client, a malformed response. */
  | 'upstream_misconfigured'
  /** The upstream sent the person back with an error (access_denied, …). */
  | 'upstream_error'
  /** A response that fails validation: ID token issuer, audience, signature, nonce, expiry; state. */
  | 'upstream_invalid_response';

export class UpstreamError extends Error {
  constructor(
    readonly code: UpstreamFailure,
    message: string,
    /** The OAuth error code the upstream sent, when it sent one (access_denied, invalid_grant, …). */
    readonly upstreamError?: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** Loopback hosts, where plain http is tolerated outside production (a Latchkey or test upstream on this machine). */
export function isLoopbackUrl(url: string): boolean {
  const parsed = URL.parse(url);
  if (!parsed) return false;
  return parsed.hostname === 'localhost' || parsed.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(parsed.hostname);
}
