// The OpenID Connect scopes Latchkey serves, and the claims each releases.
// API scopes are not listed here: they belong to registered ApiResources.
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

export const SCOPE_CLAIMS = {
  openid: ['sub'],
  // picture: set by an upstream identity provider (federation/), absent otherwise.
  profile: ['name', 'picture', 'updated_at'],
  email: ['email', 'email_verified'],
} as const;
