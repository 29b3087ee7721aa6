// Client secrets are stored only as a SHA-256 digest (src/clients/client-secret.ts),
// and the client metadata handed to oidc-provider carries that digest as its
// `client_secret`. oidc-provider compares secrets through one method,
// Client#compareClientSecret; this replaces it so the presented secret is
// hashed first and the digests are compared in constant time. Secrets are
// high-entropy random strings, so a fast hash is the right tool (argon2 would
// only slow down every token request without adding security).
//
// The one consequence: secret-derived symmetric keys (HS256 client_secret_jwt,
// symmetric ID token encryption) cannot work, and are disabled in the
// provider's enabledJWA and clientAuthMethods.
import type { Provider } from 'oidc-provider';
import { clientSecretMatches } from '../clients/client-secret.ts';

export function useHashedClientSecrets(provider: Provider): void {
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, presented: string) {
    return typeof this.clientSecret === 'string' && typeof presented === 'string' && clientSecretMatches(presented, this.clientSecret);
  };
}
