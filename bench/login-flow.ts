// A person signing in, driven over HTTP the way a browser without JavaScript
// does it: GET /auth, the login form with a real password, the consent form
// when one is shown, the redirect with the code, then the code exchange the
// client makes. Works against any server whose pages are plain HTML forms
// (Latchkey's, and the reference's minimal ones).
import { createHash, randomBytes } from 'node:crypto';
import { CookieJar } from './cookie-jar.ts';
import { basicAuth, CALLBACK, USER } from './fixture.ts';

export interface LoginRequest {
  readonly scope: string;
  readonly resource?: string;
  /** 'login' signs in again on an existing session; 'consent' asks again (needed for offline_access). */
  readonly prompt?: 'login' | 'consent';
}

export interface TokenResponse {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
}

type Step = { kind: 'page'; url: URL; status: number; html: string } | { kind: 'redirect'; url: URL };

const MAX_PAGES = 4;

/** One browser (one cookie jar, so one session at the server) for one client. */
export function createBrowser(issuer: string, client: { id: string; secret: string }) {
  const origin = new URL(issuer).origin;
  const jar = new CookieJar();

  async function navigate(start: URL, init: { method: 'GET' | 'POST'; body?: string }): Promise<Step> {
    let url = start;
    let request = init;
    for (let hops = 0; hops < 10; hops++) {
      const headers: Record<string, string> = { accept: 'text/html' };
      const cookie = jar.header(url);
      if (cookie) headers.cookie = cookie;
      if (request.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(url, { method: request.method, headers, body: request.body, redirect: 'manual' });
      jar.store(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.arrayBuffer();
        const next = new URL(location, url);
        if (next.origin !== origin) return { kind: 'redirect', url: next };
        url = next;
        request = { method: 'GET' };
        continue;
      }
      return { kind: 'page', url, status: response.status, html: await response.text() };
    }
    throw new Error(`too many redirects from ${start.href}`);
  }

  return {
    /** Signs in (and consents when asked) and exchanges the code; throws on anything unexpected. */
    async login(request: LoginRequest): Promise<TokenResponse> {
      const verifier = randomBytes(32).toString('base64url');
      const state = randomBytes(16).toString('base64url');
      const auth = new URL('/auth', issuer);
      auth.search = new URLSearchParams({
        client_id: client.id,
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: request.scope,
        state,
        nonce: randomBytes(16).toString('base64url'),
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        ...(request.resource && { resource: request.resource }),
        ...(request.prompt && { prompt: request.prompt }),
      }).toString();

      let step = await navigate(auth, { method: 'GET' });
      for (let pages = 0; step.kind === 'page'; pages++) {
        const form = pages < MAX_PAGES ? firstForm(step.html) : undefined;
        if (!form || step.status !== 200) throw new Error(`unexpected page ${step.status} at ${step.url.pathname}: ${step.html.slice(0, 200)}`);
        const body = new URLSearchParams(form.hidden);
        if (form.action.endsWith('/login')) {
          body.set('email', USER.email);
          body.set('password', USER.password);
        }
        step = await navigate(new URL(form.action, step.url), { method: 'POST', body: body.toString() });
      }

      const code = step.url.searchParams.get('code');
      if (step.url.href.split('?')[0] !== CALLBACK || !code || step.url.searchParams.get('state') !== state) {
        throw new Error(`the authorization ended without a code: ${step.url.searchParams.get('error') ?? step.url.href}`);
      }
      const response = await fetch(new URL('/token', issuer), {
        method: 'POST',
        headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: verifier }).toString(),
      });
      const tokens = (await response.json()) as TokenResponse & { error?: string };
      if (response.status !== 200 || !tokens.access_token) throw new Error(`code exchange failed: ${response.status} ${tokens.error ?? ''}`);
      return tokens;
    },
  };
}

export type Browser = ReturnType<typeof createBrowser>;

function firstForm(html: string): { action: string; hidden: Record<string, string> } | undefined {
  const markup = /<form\b[^>]*>[\s\S]*?<\/form>/i.exec(html)?.[0];
  if (!markup) return undefined;
  const action = /\baction="([^"]*)"/i.exec(markup)?.[1];
  if (action === undefined) return undefined;
  const hidden: Record<string, string> = {};
  for (const [tag] of markup.matchAll(/<input\b[^>]*type="hidden"[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(tag)?.[1];
    if (name) hidden[name] = decodeEntities(/\bvalue="([^"]*)"/i.exec(tag)?.[1] ?? '');
  }
  return { action: decodeEntities(action), hidden };
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27|#x2F|#47);/g, (_m, entity: string) =>
    ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#x2F': '/', '#47': '/' })[entity]!,
  );
}

export interface LoginLoad {
  readonly completed: number;
  readonly failed: number;
  /** Milliseconds per completed login, unsorted. */
  readonly latencies: number[];
  readonly seconds: number;
  /** The first failure, for the report (never carries a password or token). */
  readonly firstError?: string;
}

/**
 * `concurrency` people, each in their own browser, signing in again and again
 * for `seconds`: each consents once (not measured), then every measured login
 * is prompt=login on that session, so consent is already given.
 */
export async function loginLoad(options: { issuer: string; client: { id: string; secret: string }; request: Omit<LoginRequest, 'prompt'>; concurrency: number; seconds: number }): Promise<LoginLoad> {
  const browsers = Array.from({ length: options.concurrency }, () => createBrowser(options.issuer, options.client));
  await Promise.all(browsers.map((browser) => browser.login(options.request)));

  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    browsers.map(async (browser) => {
      while (performance.now() < deadline) {
        const begun = performance.now();
        try {
          await browser.login({ ...options.request, prompt: 'login' });
          latencies.push(performance.now() - begun);
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  return { completed: latencies.length, failed, latencies, seconds: (performance.now() - started) / 1000, firstError };
}
