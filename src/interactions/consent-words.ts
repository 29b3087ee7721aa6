// What a consent page says a client is asking for, in words a person
// understands. Pure functions of the interaction's details, so the wording
// can be checked without a browser.

export interface ConsentSummary {
  /** One line per kind of personal data or access, in a stable order. */
  readonly items: string[];
  /** What keeping access while the person is away (offline_access) means, when the client asks for it. */
  readonly offline: string | undefined;
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

export interface ConsentContext {
  readonly clientName: string;
  /** Seconds a grant lasts (LATCHKEY_GRANT_TTL): the longest offline access can outlive the consent. */
  readonly offlineAccessTtl: number;
}

const UNITS: readonly [seconds: number, name: string][] = [
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/**
 * A lifetime in the largest unit that words it exactly ("14 days", "90
 * minutes"), or else rounded up in the largest unit it reaches ("2 days" for
 * a day and a second): the page says "up to", so it may overstate, never
 * understate.
 */
export function describeLifetime(seconds: number): string {
  const [unit, name] = UNITS.find(([size]) => seconds >= size && seconds % size === 0 && size > 1) ?? UNITS.find(([size]) => seconds >= size) ?? UNITS.at(-1)!;
  const count = Math.ceil(seconds / unit);
  return `${count} ${name}${count === 1 ? '' : 's'}`;
}

/**
 * Offline access as it works today: the refresh token lives as long as its
 * grant at most, a sign-out at Latchkey does not end it (that is the point of
 * offline access), and it ends sooner when the app revokes it or an
 * administrator disables the account, changes its password or deletes the
 * app. There is no page yet where the person removes it, so none is promised.
 */
function describeOfflineAccess({ clientName, offlineAccessTtl }: ConsentContext): string {
  return `Access while you are not using it, for up to ${describeLifetime(offlineAccessTtl)}, even after you sign out of Latchkey. ${clientName} can give it up sooner, and an administrator can end it.`;
}

export function describeConsent(request: ConsentRequest, context: ConsentContext): ConsentSummary {
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
  return { items: [...items], offline: request.scopes.includes('offline_access') ? describeOfflineAccess(context) : undefined, apis };
}

/** An API's indicator without the noise: host and path, e.g. "orders.example.com/api". */
function describeApi(indicator: string): string {
  const url = URL.parse(indicator);
  if (!url || !url.host) return indicator;
  return `${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}
