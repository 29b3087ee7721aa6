// A relying party for tests: openid-client v6 (a certified OIDC client
// library) for everything protocol, and a small cookie-keeping user agent
// that reads Latchkey's HTML forms and submits them over fetch, the way a
// browser without JavaScript would.
import * as oidc from 'openid-client';

/** Where a navigation ended: a page of Latchkey's, or a redirect out of it (to a client). */
export type Step =
  | { readonly kind: 'page'; readonly url: URL; readonly status: number; readonly html: string; readonly headers: Headers }
  | { readonly kind: 'redirect'; readonly url: URL; readonly status: number };

export interface FormButton {
  readonly label: string;
  readonly name?: string;
  readonly value?: string;
  readonly formaction?: string;
}

export interface Form {
  readonly action: string;
  readonly method: string;
  /** Every named input with its current value (hidden ones included). */
  readonly fields: Record<string, string>;
  readonly buttons: FormButton[];
}

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

/** Cookies for one origin, honouring Path and deletion; enough for Latchkey's cookies. */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim());
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, raw = ''] = attribute.split('=');
        const lower = key!.toLowerCase();
        if (lower === 'path') path = raw;
        if (lower === 'max-age' && Number(raw) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(raw) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter((cookie) => url.pathname === cookie.path || url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  names(): string[] {
    return [...this.#cookies.values()].map((cookie) => cookie.name);
  }

  clear(): void {
    this.#cookies.clear();
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#x2F': '/', '#47': '/' };

export function decodeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27|#x2F|#47);/g, (_match, entity: string) => ENTITIES[entity]!);
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}(?:="([^"]*)")?(?=[\\s>/])`, 'i').exec(tag);
  return match ? decodeHtml(match[1] ?? '') : undefined;
}

/** The forms of a page of Latchkey's (simple, well-formed markup: no DOM needed). */
export function parseForms(html: string): Form[] {
  return [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map(([markup]) => {
    const open = /^<form\b[^>]*>/i.exec(markup)![0];
    const fields: Record<string, string> = {};
    for (const [tag] of markup.matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(tag, 'name');
      if (name !== undefined) fields[name] = attribute(tag, 'value') ?? '';
    }
    const buttons = [...markup.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map(([, attrs, label]) => {
      const tag = `<button${attrs}>`;
      return {
        label: decodeHtml(label!.replace(/<[^>]+>/g, '').trim()),
        name: attribute(tag, 'name'),
        value: attribute(tag, 'value'),
        formaction: attribute(tag, 'formaction'),
      };
    });
    return { action: attribute(open, 'action') ?? '', method: (attribute(open, 'method') ?? 'get').toLowerCase(), fields, buttons };
  });
}

/** A user agent for one origin (the issuer): follows its redirects, keeps its cookies, stops at any other origin. */
export class UserAgent {
  readonly jar = new CookieJar();
  /** `stopAt`: a same-origin URL to stop at as if it were another origin (a client's callback on the issuer's origin). */
  constructor(
    readonly origin: string,
    readonly stopAt: (url: URL) => boolean = () => false,
  ) {}

  /** GET `url` and follow redirects within the issuer; `init.headers` go with every hop (an X-Forwarded-For, say). */
  open(url: string | URL, init: { headers?: Record<string, string> } = {}): Promise<Step> {
    return this.#navigate(new URL(url, this.origin), { method: 'GET' }, init.headers);
  }

  /** Fills `values` into the page's only (or first) form and presses the button labelled `button` (default: the first). */
  submit(step: Step, values: Record<string, string> = {}, button?: string, init: { headers?: Record<string, string> } = {}): Promise<Step> {
    if (step.kind !== 'page') throw new Error(`expected a page, got a redirect to ${step.url.href}`);
    const [form] = parseForms(step.html);
    if (!form) throw new Error(`no form on ${step.url.href}: ${step.html.slice(0, 300)}`);
    const pressed = button === undefined ? form.buttons[0] : form.buttons.find((b) => b.label === button);
    if (!pressed) throw new Error(`no button "${button}" on ${step.url.href} (buttons: ${form.buttons.map((b) => b.label).join(', ')})`);
    const body = new URLSearchParams({ ...form.fields, ...values });
    if (pressed.name) body.set(pressed.name, pressed.value ?? '');
    const action = new URL(pressed.formaction ?? form.action, step.url);
    return this.post(action, body, init.headers);
  }

  /** A raw form POST (for forged or malformed submissions). */
  post(url: string | URL, body: URLSearchParams | string, headers: Record<string, string> = {}): Promise<Step> {
    return this.#navigate(new URL(url, this.origin), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: typeof body === 'string' ? body : body.toString(),
    });
  }

  async #navigate(start: URL, init: RequestInit, everyHop: Record<string, string> = {}): Promise<Step> {
    let url = start;
    let request = init;
    for (let hops = 0; hops < 20; hops++) {
      if (url.origin !== this.origin) return { kind: 'redirect', url, status: 303 };
      const headers = new Headers({ ...everyHop, ...Object.fromEntries(new Headers(request.headers)) });
      const cookie = this.jar.header(url);
      if (cookie) headers.set('cookie', cookie);
      headers.set('accept', 'text/html');
      const response = await fetch(url, { ...request, headers, redirect: 'manual' });
      this.jar.store(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, url);
        await response.body?.cancel();
        if (next.origin !== this.origin || this.stopAt(next)) return { kind: 'redirect', url: next, status: response.status };
        url = next;
        request = { method: 'GET' };
        continue;
      }
      return { kind: 'page', url, status: response.status, html: await response.text(), headers: response.headers };
    }
    throw new Error(`too many redirects from ${start.href}`);
  }
}

export interface RelyingPartyOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** Confidential clients; public clients authenticate with `none`. */
  readonly clientSecret?: string;
  readonly redirectUri: string;
}

export interface AuthorizationRequest {
  readonly url: URL;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** An OpenID Connect client as a third-party app would run it, plus a user agent for its user. */
export async function createRelyingParty(options: RelyingPartyOptions) {
  const config = await oidc.discovery(
    new URL(options.issuer),
    options.clientId,
    { redirect_uris: [options.redirectUri], ...(options.clientSecret ? {} : { token_endpoint_auth_method: 'none' }) },
    options.clientSecret ? oidc.ClientSecretBasic(options.clientSecret) : oidc.None(),
    // The test issuer is http on loopback.
    { execute: [oidc.allowInsecureRequests] },
  );

  return {
    config,
    // A redirect URI on the issuer's own origin (a built-in client's) ends the navigation like any other.
    browser: new UserAgent(new URL(options.issuer).origin, (url) => url.href.split('?')[0] === options.redirectUri),

    /** A code + PKCE S256 request with fresh state and nonce; `params` adds or overrides. */
    async authorizationRequest(params: Record<string, string> = {}): Promise<AuthorizationRequest> {
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...params,
      });
      return { url, state, nonce, codeVerifier };
    },

    /** Exchanges the code the callback URL carries, with every check openid-client makes (state, nonce, ID token). */
    exchange(callback: URL, request: AuthorizationRequest, checks: { maxAge?: number } = {}) {
      return oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        ...checks,
      });
    },

    refresh(refreshToken: string) {
      return oidc.refreshTokenGrant(config, refreshToken);
    },

    userinfo(accessToken: string, sub: string) {
      return oidc.fetchUserInfo(config, accessToken, sub);
    },

    endSessionUrl(params: Record<string, string>) {
      return oidc.buildEndSessionUrl(config, params);
    },
  };
}

export type RelyingParty = Awaited<ReturnType<typeof createRelyingParty>>;

/** The OAuth error code an openid-client call failed with (token, authorization response, or bearer challenge). */
export async function oauthError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError) return error.error;
    if (error instanceof oidc.WWWAuthenticateChallengeError) return error.cause[0]?.parameters.error ?? `status ${error.status}`;
    throw error;
  }
  throw new Error('expected the call to fail');
}

export function expectPage(step: Step): Extract<Step, { kind: 'page' }> {
  if (step.kind !== 'page') throw new Error(`expected a page, got a redirect to ${step.url.href}`);
  return step;
}

export function expectRedirect(step: Step): URL {
  if (step.kind !== 'redirect') throw new Error(`expected a redirect, got ${step.status} ${step.url.pathname}: ${step.html.slice(0, 400)}`);
  return step.url;
}

/** The page's <h1>, as HTML. */
export const heading = (step: Step) => /<h1>([\s\S]*?)<\/h1>/.exec(expectPage(step).html)?.[1]?.trim();

/**
 * A fresh authorization request through the login page and the consent page
 * ("Allow") to the client's callback. Throws when a page is not the expected one.
 */
export async function signInAndAllow(rp: RelyingParty, credentials: { email: string; password: string }, params: Record<string, string> = {}) {
  const request = await rp.authorizationRequest(params);
  const login = await rp.browser.open(request.url);
  if (heading(login) !== 'Sign in') throw new Error(`expected the login page, got: ${expectPage(login).html.slice(0, 400)}`);
  const consent = await rp.browser.submit(login, credentials);
  if (!heading(consent)?.endsWith('wants to access your account')) throw new Error(`expected the consent page, got: ${expectPage(consent).html.slice(0, 400)}`);
  const callback = expectRedirect(await rp.browser.submit(consent, {}, 'Allow'));
  return { request, callback };
}
