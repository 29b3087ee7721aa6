// One client per kind of upstream, chosen by the provider's type: an OpenID
// Connect provider (oidc-upstream.ts) or GitHub's plain OAuth 2.0
// (github-upstream.ts). Both answer begin/finish with the same shapes.
import { createGithubUpstream } from './github-upstream.ts';
import { createOidcUpstream } from './oidc-upstream.ts';
import type { UpstreamClient, UpstreamProvider } from './upstream-identity.ts';

export interface UpstreamClientsDeps {
  readonly secretOf: (provider: UpstreamProvider) => Promise<string>;
  /** Outside production: http to a loopback upstream is allowed. */
  readonly allowLoopbackHttp: boolean;
  readonly timeoutSeconds?: number;
}

export function createUpstreamClients(deps: UpstreamClientsDeps) {
  const oidc = createOidcUpstream(deps);
  const github = createGithubUpstream(deps);
  return {
    for(provider: Pick<UpstreamProvider, 'type'>): UpstreamClient {
      return provider.type === 'github' ? github : oidc;
    },
  };
}

export type UpstreamClients = ReturnType<typeof createUpstreamClients>;
