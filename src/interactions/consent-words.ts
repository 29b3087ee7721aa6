// What a consent page says a client is asking for, in words a person
// understands. Pure functions of the interaction's details, so the wording
// can be checked without a browser.

export interface ConsentSummary {
  /** One line per kind of personal data or access, in a stable order. */
  readonly items: string[];
  /** Whether the client asks to keep access while the person is away (offline_access). */
  readonly offline: boolean;
  /** Per API: where it is and which of its scopes, as registered. */
  readonly apis: { readonly name: string; readonly scopes: string[] }[];
}

export interface ConsentRequest {
  readonly scopes: readonly string[];
  readonly claims: readonly string[];
  readonly resourceScopes: Readonly<Record<string, readonly string[]>>;
}

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know which Latchkey account you use (an identifier, not your email)',
  profile: 'Your name',
  email: 'Your email address, and whether it is verified',
};

const CLAIM_WORDS: Record<string, string> = {
  name: SCOPE_WORDS.profile!,
  updated_at: 'When your profile last changed',
  email: SCOPE_WORDS.email!,
  email_verified: SCOPE_WORDS.email!,
};

export function describeConsent(request: ConsentRequest): ConsentSummary {
  const items = new Set<string>();
  for (const scope of request.scopes) {
    const words = SCOPE_WORDS[scope];
    if (words) items.add(words);
  }
  for (const claim of request.claims) {
    items.add(CLAIM_WORDS[claim] ?? `The "${claim}" detail of your account`);
  }
  const apis = Object.entries(request.resourceScopes)
    .filter(([, scopes]) => scopes.length > 0)
    .map(([indicator, scopes]) => ({ name: describeApi(indicator), scopes: [...scopes] }));
  return { items: [...items], offline: request.scopes.includes('offline_access'), apis };
}

/** An API's indicator without the noise: host and path, e.g. "orders.example.com/api". */
function describeApi(indicator: string): string {
  const url = URL.parse(indicator);
  if (!url || !url.host) return indicator;
  return `${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}
