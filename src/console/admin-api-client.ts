// The console's client of the Admin API: plain HTTP to Latchkey's own
// /admin/v1 (config.issuer), with the signed-in person's access token, so
// the console can do exactly what the API lets that token do and no more.
// Every answer that is not a success comes back as an ApiProblem (RFC 9457
// problem+json as the API sends it, or one made up for an answer that is
// not), never as a thrown error: the pages turn it into a readable page.
export interface ApiProblem {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail?: string;
  readonly errors?: readonly { readonly field: string; readonly message: string }[];
}

export type ApiResult<T> = { readonly ok: true; readonly status: number; readonly body: T; readonly etag?: string } | { readonly ok: false; readonly problem: ApiProblem };

export interface ApiRequest {
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly ifMatch?: string;
}

export interface AdminApiClientDeps {
  /** Where /admin/v1 is reached: the issuer. */
  readonly baseUrl: string;
  /** Test seam; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

/** Seconds an Admin API call may take before the page says so. */
const TIMEOUT_MS = 15_000;

function toProblem(status: number, body: unknown): ApiProblem {
  const given = (body && typeof body === 'object' ? body : {}) as Partial<Record<keyof ApiProblem, unknown>>;
  const errors = Array.isArray(given.errors)
    ? given.errors.filter((e): e is { field: string; message: string } => !!e && typeof e === 'object' && typeof (e as { field?: unknown }).field === 'string' && typeof (e as { message?: unknown }).message === 'string')
    : undefined;
  return {
    status,
    code: typeof given.code === 'string' ? given.code : `http_${status}`,
    title: typeof given.title === 'string' ? given.title : 'The Admin API refused the request',
    ...(typeof given.detail === 'string' && { detail: given.detail }),
    ...(errors?.length && { errors }),
  };
}

export function createAdminApiClient({ baseUrl, fetch: fetchImpl = fetch }: AdminApiClientDeps) {
  const root = `${baseUrl}/admin/v1`;

  async function call<T>(accessToken: string, method: string, path: string, request: ApiRequest = {}): Promise<ApiResult<T>> {
    const url = new URL(`${root}${path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json, application/problem+json' };
    if (request.body !== undefined) headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    if (request.ifMatch) headers['if-match'] = request.ifMatch;
    let response: Response;
    try {
      response = await fetchImpl(url, { method, headers, body: request.body === undefined ? undefined : JSON.stringify(request.body), redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch {
      return { ok: false, problem: { status: 502, code: 'api_unreachable', title: 'The Admin API could not be reached', detail: 'Try again in a moment.' } };
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) return { ok: false, problem: toProblem(response.status, body) };
    return { ok: true, status: response.status, body: body as T, etag: response.headers.get('etag') ?? undefined };
  }

  return {
    get: <T>(token: string, path: string, query?: ApiRequest['query']) => call<T>(token, 'GET', path, { query }),
    post: <T>(token: string, path: string, body?: unknown, query?: ApiRequest['query']) => call<T>(token, 'POST', path, { body, query }),
    patch: <T>(token: string, path: string, body: unknown, ifMatch?: string) => call<T>(token, 'PATCH', path, { body, ifMatch }),
    delete: <T>(token: string, path: string, ifMatch?: string) => call<T>(token, 'DELETE', path, { ifMatch }),
  };
}

export type AdminApiClient = ReturnType<typeof createAdminApiClient>;
