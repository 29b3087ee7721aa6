// Extracts the access token and its scheme from an Authorization header:
// `Bearer <token>` (RFC 6750 §2.1) or, where DPoP is accepted,
// `DPoP <token>` (RFC 9449 §7.1). Anything ambiguous is refused rather than
// guessed at; without DPoP a DPoP header counts as no bearer token, as before.
import { extractBearerToken } from './bearer-header.ts';
import { InvalidAuthorizationHeaderError } from './errors.ts';

export type TokenScheme = 'Bearer' | 'DPoP';

export interface PresentedToken {
  readonly scheme: TokenScheme;
  readonly token: string;
}

// credentials = "DPoP" 1*SP token68; the scheme is case-insensitive (RFC 9110 §11.1).
const DPOP = /^dpop +([A-Za-z0-9\-._~+/]+=*)$/i;
const DPOP_SCHEME = /^dpop(?: |$)/i;

export function extractAccessToken(header: string | readonly string[] | undefined | null, options: { readonly dpop: boolean }): PresentedToken {
  const values = header == null ? [] : typeof header === 'string' ? [header] : header;
  const value = values.length === 1 ? values[0]?.trim() : undefined;
  if (options.dpop && value && DPOP_SCHEME.test(value)) {
    const token = DPOP.exec(value)?.[1];
    if (!token) throw new InvalidAuthorizationHeaderError('the Authorization header must be "DPoP" followed by one token');
    return { scheme: 'DPoP', token };
  }
  return { scheme: 'Bearer', token: extractBearerToken(header) };
}
