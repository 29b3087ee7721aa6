// The one set of facts both servers are provisioned with, so every scenario
// asks Latchkey and the reference for exactly the same thing.
export const API = 'https://api.bench.test';
export const API_SCOPES = ['read', 'write'] as const;
/** The second service of the token-exchange scenario: what the exchanger trades a person's token for API into. */
export const API2 = 'https://api2.bench.test';
export const API2_SCOPES = ['read'] as const;
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Never followed: the login driver stops at the redirect and reads the code from it. */
export const CALLBACK = 'https://rp.bench.test/callback';
export const USER = { email: 'bench@example.test', password: 'a long bench password, typed for real' } as const;

/** What a provisioned server gives the scenarios. */
export interface Credentials {
  readonly issuer: string;
  /** client_credentials, client_secret_basic, registered for API. */
  readonly service: { readonly id: string; readonly secret: string };
  /** authorization_code + refresh_token, client_secret_basic, redirect URI CALLBACK, registered for API. */
  readonly web: { readonly id: string; readonly secret: string };
  /** Latchkey only, for the Admin API scenario: client_credentials for `<issuer>/admin` with clients:read. */
  readonly admin?: { readonly id: string; readonly secret: string };
  /** The token-exchange grant (RFC 8693), client_secret_basic, registered for API, allowed to exchange for API2. */
  readonly exchanger: { readonly id: string; readonly secret: string };
}

/** How many clients the Admin API scenario lists from (besides the ones above). */
export const ADMIN_BENCH_CLIENTS = 1000;

export function basicAuth(client: { id: string; secret: string }): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
}
