// What a consent page says a client is asking for, as messages a person
// understands once the page words them in its language (the consent.* and
// time.* keys of locales/). Pure functions of the interaction's details, so
// the wording can be checked without a browser.
import { message, type Message } from '../i18n/message.ts';

export interface ConsentSummary {
  /** One line per kind of personal data or access, in a stable order. */
  readonly items: Message[];
  /** What keeping access while the person is away (offline_access) means, when the client asks for it. */
  readonly offline: Message | undefined;
  /** Per API: where it is and which of its scopes, as registered. */
  readonly apis: { readonly name: string; readonly scopes: string[] }[];
}

export interface ConsentRequest {
  readonly scopes: readonly string[];
  readonly claims: readonly string[];
  readonly resourceScopes: Readonly<Record<string, readonly string[]>>;
}

const SCOPE_WORDS: Record<string, string> = {
  openid: 'consent.scope.openid',
  profile: 'consent.scope.profile',
  email: 'consent.scope.email',
};

const CLAIM_WORDS: Record<string, string> = {
  name: SCOPE_WORDS.profile!,
  updated_at: 'consent.claim.updatedAt',
  email: SCOPE_WORDS.email!,
  email_verified: SCOPE_WORDS.email!,
};

export interface ConsentContext {
  readonly clientName: string;
  /** Seconds a grant lasts (LATCHKEY_GRANT_TTL): the longest offline access can outlive the consent. */
  readonly offlineAccessTtl: number;
}

const UNITS: readonly [seconds: number, key: string][] = [
  [86400, 'time.day'],
  [3600, 'time.hour'],
  [60, 'time.minute'],
  [1, 'time.second'],
];

/**
 * A lifetime in the largest unit that words it exactly ("14 days", "90
 * minutes"), or else rounded up in the largest unit it reaches ("2 days" for
 * a day and a second): the page says "up to", so it may overstate, never
 * understate.
 */
export function describeLifetime(seconds: number): Message {
  const [unit, key] = UNITS.find(([size]) => seconds >= size && seconds % size === 0 && size > 1) ?? UNITS.find(([size]) => seconds >= size) ?? UNITS.at(-1)!;
  return message(key, { count: Math.ceil(seconds / unit) });
}

/**
 * Offline access as it works today: the refresh token lives as long as its
 * grant at most, a sign-out at Latchkey does not end it (that is the point of
 * offline access), and it ends sooner when the app revokes it or an
 * administrator disables the account, changes its password or deletes the
 * app. There is no page yet where the person removes it, so none is promised.
 */
function describeOfflineAccess({ clientName, offlineAccessTtl }: ConsentContext): Message {
  return message('consent.offline', { lifetime: describeLifetime(offlineAccessTtl), client: clientName });
}

export function describeConsent(request: ConsentRequest, context: ConsentContext): ConsentSummary {
  // By key, so a scope and its claims (profile and name) make one line.
  const items = new Map<string, Message>();
  for (const scope of request.scopes) {
    const key = SCOPE_WORDS[scope];
    if (key) items.set(key, message(key));
  }
  for (const claim of request.claims) {
    const key = CLAIM_WORDS[claim];
    if (key) items.set(key, message(key));
    else items.set(`claim:${claim}`, message('consent.claim.other', { claim }));
  }
  const apis = Object.entries(request.resourceScopes)
    .filter(([, scopes]) => scopes.length > 0)
    .map(([indicator, scopes]) => ({ name: describeApi(indicator), scopes: [...scopes] }));
  return { items: [...items.values()], offline: request.scopes.includes('offline_access') ? describeOfflineAccess(context) : undefined, apis };
}

/** An API's indicator without the noise: host and path, e.g. "orders.example.com/api". */
function describeApi(indicator: string): string {
  const url = URL.parse(indicator);
  if (!url || !url.host) return indicator;
  return `${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}
