// The admin console, /admin: server-rendered pages over the Admin API
// (/admin/v1, called over HTTP with the signed-in person's token:
// admin-api.ts), so the console can do exactly what that token may and the
// API stays the one place that decides. Pages work without JavaScript; every
// form posts with a token bound to the console session
// (console-form-token.ts); a write the person's role does not allow shows no
// button, and if forged anyway the API's 403 comes back as a readable page,
// like every other problem the API answers. /admin/v1 itself is not served here.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { InsecureTransportError } from '../errors.ts';
import type { Views } from '../http/views.ts';
import { readForm } from '../interactions/form-body.ts';
import type { AdminApiClient, ApiProblem, ApiResult } from './admin-api-client.ts';
import { auditChart, type SummaryHour } from './audit-chart.ts';
import type { ConsoleFormTokens } from './console-form-token.ts';
import { safeReturnTo, type ConsoleSession, type ConsoleUser } from './console-session.ts';
import { AUTH_METHODS, GRANT_TYPES } from '../clients/client-validation.ts';

export interface ConsoleRoutesDeps {
  readonly issuer: string;
  readonly views: Views;
  readonly session: ConsoleSession;
  readonly api: AdminApiClient;
  readonly formTokens: ConsoleFormTokens;
  /** oidc-provider's end_session path: "Sign out" ends the Latchkey session too. */
  readonly endSessionPath: string;
}

type Item = Record<string, unknown>;
interface List {
  readonly items: Item[];
  readonly next_cursor: string | null;
}

/** The one-line notices a done action leaves (?done=…): only these, never text from the URL. */
const NOTICES: Readonly<Record<string, string>> = {
  saved: 'Saved.',
  deleted: 'Deleted.',
  created: 'Created.',
  disabled: 'The user is disabled: they cannot sign in, and their sessions and tokens stop working.',
  enabled: 'The user is enabled again.',
  role: 'Role changed. It applies from their next sign-in.',
  password: "Password set. The user's sessions, grants and tokens have ended.",
  mfa: 'Every second factor of the user was removed.',
  sessions: "The user's sessions and grants have ended.",
  rotated: 'A new signing key was added.',
  retired: 'The key was retired.',
};

const ROLES = ['admin', 'viewer', 'none'] as const;
/** Longer than any field the API takes; a field is cut here before it is sent on. */
const FIELD_MAX = 8192;

const lines = (text: string) => text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
const words = (text: string) => text.split(/\s+/).filter(Boolean);
const enc = encodeURIComponent;

/** A time the audit filter was given: an ISO instant, or a datetime-local value (read as UTC). */
function sinceParameter(value: string): string | undefined {
  const text = value.trim();
  if (!text) return undefined;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(text)) return `${text}:00Z`;
  return text;
}

function clientBody(form: URLSearchParams, creating: boolean): Record<string, unknown> {
  const field = (name: string) => (form.get(name) ?? '').slice(0, FIELD_MAX);
  const postLogout = lines(field('post_logout_redirect_uris'));
  const scope = words(field('scope')).join(' ');
  const body: Record<string, unknown> = {
    client_name: field('client_name').trim(),
    redirect_uris: lines(field('redirect_uris')),
    grant_types: form.getAll('grant_types').filter((g) => (GRANT_TYPES as readonly string[]).includes(g)),
    resources: lines(field('resources')),
    require_mfa: form.get('require_mfa') === 'on',
  };
  if (creating) {
    const method = field('token_endpoint_auth_method');
    if (method) body.token_endpoint_auth_method = method;
    if (postLogout.length) body.post_logout_redirect_uris = postLogout;
    if (scope) body.scope = scope;
  } else {
    // Merge patch (RFC 7396): null removes an optional field.
    body.post_logout_redirect_uris = postLogout.length ? postLogout : null;
    body.scope = scope || null;
  }
  return body;
}

/** The client's fields as the form shows them (after a refused submission: as typed). */
function clientFormValues(source: Item | URLSearchParams) {
  if (source instanceof URLSearchParams) {
    return {
      client_name: source.get('client_name') ?? '',
      redirect_uris: source.get('redirect_uris') ?? '',
      post_logout_redirect_uris: source.get('post_logout_redirect_uris') ?? '',
      grant_types: source.getAll('grant_types'),
      token_endpoint_auth_method: source.get('token_endpoint_auth_method') ?? 'client_secret_basic',
      scope: source.get('scope') ?? '',
      resources: source.get('resources') ?? '',
      require_mfa: source.get('require_mfa') === 'on',
    };
  }
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  return {
    client_name: String(source.client_name ?? ''),
    redirect_uris: list(source.redirect_uris).join('\n'),
    post_logout_redirect_uris: list(source.post_logout_redirect_uris).join('\n'),
    grant_types: list(source.grant_types),
    token_endpoint_auth_method: String(source.token_endpoint_auth_method ?? ''),
    scope: typeof source.scope === 'string' ? source.scope : list(source.scope).join(' '),
    resources: list(source.resources).join('\n'),
    require_mfa: source.require_mfa === true,
  };
}

export function createConsoleRoutes(deps: ConsoleRoutesDeps): Middleware {
  const { views, session, api, formTokens } = deps;
  const secureOnly = deps.issuer.startsWith('https:');
  const router = new Router({ prefix: '/admin' });

  function render(ctx: Context, who: ConsoleUser | undefined, name: string, data: { title: string; section?: string; [key: string]: unknown }, status = 200) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    const can = (scope: string) => !!who?.scopes.includes(scope);
    const done = typeof ctx.query.done === 'string' && Object.hasOwn(NOTICES, ctx.query.done) ? NOTICES[ctx.query.done] : undefined;
    ctx.body = views.render(`console/${name}`, { notice: done, grantTypes: GRANT_TYPES, authMethods: AUTH_METHODS, ...data, who, can, token: who ? formTokens.issue(who.sid) : undefined }, 'en');
  }

  /** A problem the API answered (or the console found) as a page with the same status; an ended token goes back to sign in. */
  function problemPage(ctx: Context, who: ConsoleUser | undefined, problem: ApiProblem, back?: string) {
    if (problem.status === 401 && who) {
      session.end(ctx);
      ctx.status = 303;
      ctx.redirect(`/admin/login?return=${enc(safeReturnTo(back ?? '/admin'))}`);
      return;
    }
    const explanation =
      problem.code === 'insufficient_scope'
        ? 'Your role does not allow this. An administrator can change your role with `latchkey user set-role`.'
        : problem.code === 'precondition_failed'
          ? 'Someone changed this since you opened it. Open it again to see the current version, then make your change.'
          : undefined;
    render(ctx, who, 'problem', { title: problem.title, problem, explanation, back }, problem.status >= 400 && problem.status < 600 ? problem.status : 502);
  }

  /** The signed-in person for a page; undefined when the browser was sent to sign in. */
  function signedIn(ctx: Context): ConsoleUser | undefined {
    const who = session.current(ctx);
    if (!who) {
      ctx.status = 303;
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(`/admin/login?return=${enc(safeReturnTo(ctx.originalUrl))}`);
    }
    return who;
  }

  /**
   * The signed-in person and their form, for a POST; undefined when the
   * answer is already given (not signed in: to sign in; no or a wrong form
   * token: a 403 page).
   */
  async function accept(ctx: Context): Promise<{ who: ConsoleUser; form: URLSearchParams } | undefined> {
    const form = await readForm(ctx);
    const who = session.current(ctx);
    if (!who) {
      ctx.status = 303;
      ctx.redirect('/admin/login?return=/admin');
      return undefined;
    }
    if (!formTokens.verify(who.sid, form.get('token'))) {
      problemPage(ctx, who, { status: 403, code: 'invalid_form_token', title: 'This form has expired', detail: 'The form was not sent from this console session. Open the page again and resend it.' });
      return undefined;
    }
    return { who, form };
  }

  /** A page that needs `scope` to be of any use refuses without it, as the API would. */
  function needs(ctx: Context, who: ConsoleUser, scope: string): boolean {
    if (who.scopes.includes(scope)) return true;
    problemPage(ctx, who, { status: 403, code: 'insufficient_scope', title: 'Not allowed', detail: `This needs the ${scope} scope.` });
    return false;
  }

  const done = (ctx: Context, path: string, what: keyof typeof NOTICES) => {
    ctx.status = 303;
    ctx.redirect(`${path}${path.includes('?') ? '&' : '?'}done=${what}`);
  };

  async function ok<T>(ctx: Context, who: ConsoleUser, result: ApiResult<T>, back?: string): Promise<(ApiResult<T> & { ok: true }) | undefined> {
    if (result.ok) return result;
    problemPage(ctx, who, result.problem, back);
    return undefined;
  }

  // Sign-in and sign-out.
  router.get('/login', (ctx) => session.startSignIn(ctx, safeReturnTo(ctx.query.return)));

  router.get('/callback', async (ctx) => {
    const outcome = await session.finishSignIn(ctx);
    if (!outcome.ok) {
      const messages = {
        state: ['Sign-in did not complete', 'This sign-in was not started from this browser, or took too long.'],
        denied: ['Sign-in was cancelled', 'Latchkey did not sign you in to the console.'],
        exchange: ['Sign-in did not complete', 'Latchkey did not hand out a token for the console. Try again.'],
        no_role: ['No access to the admin console', 'Your account has no role in the admin console. An administrator can give you one with `latchkey user set-role`.'],
      } as const;
      const [title, detail] = messages[outcome.reason];
      return render(ctx, undefined, 'signed-out', { title, detail }, outcome.reason === 'no_role' ? 403 : 400);
    }
    const { user } = outcome;
    // The person's email for the header, when their token may read users.
    const me = user.scopes.includes('users:read') ? await api.get<Item>(user.accessToken, `/users/${enc(user.sub)}`) : undefined;
    session.save(ctx, me?.ok && typeof me.body.email === 'string' ? { ...user, email: me.body.email } : user);
    ctx.status = 303;
    ctx.redirect(outcome.returnTo);
  });

  router.post('/logout', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    session.end(ctx);
    ctx.status = 303;
    ctx.redirect(deps.endSessionPath);
  });

  // Dashboard: the last 24 hours from the audit log.
  router.get('/', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const now = new Date();
    let chart;
    let problem: ApiProblem | undefined;
    if (who.scopes.includes('audit:read')) {
      const result = await api.get<{ hours: SummaryHour[] }>(who.accessToken, '/audit-events/summary', { since: new Date(now.getTime() - 24 * 3_600_000).toISOString() });
      if (result.ok) chart = auditChart(Array.isArray(result.body?.hours) ? result.body.hours : [], now);
      else if (result.problem.status === 401) return problemPage(ctx, who, result.problem, '/admin');
      else problem = result.problem;
    }
    render(ctx, who, 'dashboard', { title: 'Dashboard', section: 'dashboard', chart, problem });
  });

  // Clients.
  router.get('/clients', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const result = await ok(ctx, who, await api.get<List>(who.accessToken, '/clients', { limit: '50', cursor: typeof ctx.query.cursor === 'string' ? ctx.query.cursor : undefined }), '/admin/clients');
    if (!result) return;
    render(ctx, who, 'clients', { title: 'Clients', section: 'clients', list: result.body });
  });

  router.get('/clients/new', (ctx) => {
    const who = signedIn(ctx);
    if (!who || !needs(ctx, who, 'clients:write')) return;
    render(ctx, who, 'client-form', { title: 'New client', section: 'clients', creating: true, values: clientFormValues(new URLSearchParams({ token_endpoint_auth_method: 'client_secret_basic', grant_types: 'authorization_code' })) });
  });

  router.post('/clients', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const result = await api.post<Item>(who.accessToken, '/clients', clientBody(form, true));
    if (!result.ok) {
      if (result.problem.status === 400) return render(ctx, who, 'client-form', { title: 'New client', section: 'clients', creating: true, values: clientFormValues(form), problem: result.problem }, 400);
      return problemPage(ctx, who, result.problem, '/admin/clients');
    }
    // Answered with the page itself, not a redirect: the secret is shown this once and is in no URL.
    render(ctx, who, 'client-secret', { title: 'Client created', section: 'clients', client: result.body, secret: result.body.client_secret, created: true }, 201);
  });

  router.get('/clients/:id', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const result = await ok(ctx, who, await api.get<Item>(who.accessToken, `/clients/${enc(ctx.params.id!)}`), '/admin/clients');
    if (!result) return;
    render(ctx, who, 'client-form', { title: String(result.body.client_name ?? result.body.client_id), section: 'clients', creating: false, client: result.body, etag: result.etag, values: clientFormValues(result.body) });
  });

  router.post('/clients/:id', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const id = ctx.params.id!;
    const result = await api.patch<Item>(who.accessToken, `/clients/${enc(id)}`, clientBody(form, false), form.get('etag') || undefined);
    if (!result.ok) {
      if (result.problem.status === 400) {
        return render(ctx, who, 'client-form', { title: 'Edit client', section: 'clients', creating: false, client: { client_id: id }, etag: form.get('etag'), values: clientFormValues(form), problem: result.problem }, 400);
      }
      return problemPage(ctx, who, result.problem, `/admin/clients/${enc(id)}`);
    }
    done(ctx, `/admin/clients/${enc(id)}`, 'saved');
  });

  router.post('/clients/:id/secret', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who } = accepted;
    const id = ctx.params.id!;
    const result = await ok(ctx, who, await api.post<Item>(who.accessToken, `/clients/${enc(id)}/secret`), `/admin/clients/${enc(id)}`);
    if (!result) return;
    render(ctx, who, 'client-secret', { title: 'New client secret', section: 'clients', client: result.body, secret: result.body.client_secret, created: false });
  });

  router.get('/clients/:id/delete', async (ctx) => {
    const who = signedIn(ctx);
    if (!who || !needs(ctx, who, 'clients:write')) return;
    const id = ctx.params.id!;
    const result = await ok(ctx, who, await api.get<Item>(who.accessToken, `/clients/${enc(id)}`), '/admin/clients');
    if (!result) return;
    render(ctx, who, 'confirm', {
      title: 'Delete this client?',
      section: 'clients',
      what: `${String(result.body.client_name ?? '')} (${id})`,
      consequence: 'Its sign-ins and tokens stop working. This cannot be undone.',
      action: `/admin/clients/${enc(id)}/delete`,
      etag: result.etag,
      button: 'Delete client',
      back: `/admin/clients/${enc(id)}`,
    });
  });

  router.post('/clients/:id/delete', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const id = ctx.params.id!;
    if (!(await ok(ctx, who, await api.delete(who.accessToken, `/clients/${enc(id)}`, form.get('etag') || undefined), `/admin/clients/${enc(id)}`))) return;
    done(ctx, '/admin/clients', 'deleted');
  });

  // Resources.
  router.get('/resources', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const result = await ok(ctx, who, await api.get<List>(who.accessToken, '/resources', { limit: '50', cursor: typeof ctx.query.cursor === 'string' ? ctx.query.cursor : undefined }), '/admin/resources');
    if (!result) return;
    render(ctx, who, 'resources', { title: 'Resources', section: 'resources', list: result.body, values: {} });
  });

  const resourceBody = (form: URLSearchParams) => {
    const ttl = (form.get('access_token_ttl') ?? '').trim();
    return {
      scopes: words((form.get('scopes') ?? '').slice(0, FIELD_MAX)),
      ...(ttl && { access_token_ttl: /^\d+$/.test(ttl) ? Number(ttl) : ttl }),
    };
  };

  router.post('/resources', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const result = await api.post<Item>(who.accessToken, '/resources', { identifier: (form.get('identifier') ?? '').trim().slice(0, FIELD_MAX), ...resourceBody(form) });
    if (!result.ok) {
      if (result.problem.status === 400 || result.problem.status === 409) {
        const list = await api.get<List>(who.accessToken, '/resources', { limit: '50' });
        return render(ctx, who, 'resources', { title: 'Resources', section: 'resources', list: list.ok ? list.body : { items: [], next_cursor: null }, problem: result.problem, values: Object.fromEntries(form) }, result.problem.status);
      }
      return problemPage(ctx, who, result.problem, '/admin/resources');
    }
    done(ctx, '/admin/resources', 'created');
  });

  router.get('/resources/:id', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const result = await ok(ctx, who, await api.get<Item>(who.accessToken, `/resources/${enc(ctx.params.id!)}`), '/admin/resources');
    if (!result) return;
    render(ctx, who, 'resource', { title: String(result.body.identifier), section: 'resources', resource: result.body, etag: result.etag });
  });

  router.post('/resources/:id', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const id = ctx.params.id!;
    if (!(await ok(ctx, who, await api.patch(who.accessToken, `/resources/${enc(id)}`, resourceBody(form), form.get('etag') || undefined), `/admin/resources/${enc(id)}`))) return;
    done(ctx, `/admin/resources/${enc(id)}`, 'saved');
  });

  router.get('/resources/:id/delete', async (ctx) => {
    const who = signedIn(ctx);
    if (!who || !needs(ctx, who, 'resources:write')) return;
    const id = ctx.params.id!;
    const result = await ok(ctx, who, await api.get<Item>(who.accessToken, `/resources/${enc(id)}`), '/admin/resources');
    if (!result) return;
    render(ctx, who, 'confirm', {
      title: 'Delete this resource?',
      section: 'resources',
      what: String(result.body.identifier),
      consequence: 'It is removed from every client that lists it, and no new token is issued for it. Tokens already issued stay valid until they expire.',
      action: `/admin/resources/${enc(id)}/delete`,
      etag: result.etag,
      button: 'Delete resource',
      back: `/admin/resources/${enc(id)}`,
    });
  });

  router.post('/resources/:id/delete', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const id = ctx.params.id!;
    if (!(await ok(ctx, who, await api.delete(who.accessToken, `/resources/${enc(id)}`, form.get('etag') || undefined), `/admin/resources/${enc(id)}`))) return;
    done(ctx, '/admin/resources', 'deleted');
  });

  // Users.
  router.get('/users', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const prefix = typeof ctx.query.email_prefix === 'string' ? ctx.query.email_prefix.slice(0, 254) : '';
    const result = await ok(ctx, who, await api.get<List>(who.accessToken, '/users', { limit: '50', email_prefix: prefix, cursor: typeof ctx.query.cursor === 'string' ? ctx.query.cursor : undefined }), '/admin/users');
    if (!result) return;
    render(ctx, who, 'users', { title: 'Users', section: 'users', list: result.body, prefix });
  });

  router.get('/users/:id', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const result = await ok(ctx, who, await api.get<Item>(who.accessToken, `/users/${enc(ctx.params.id!)}`), '/admin/users');
    if (!result) return;
    render(ctx, who, 'user', { title: String(result.body.email), section: 'users', user: result.body, roles: ROLES });
  });

  router.post('/users/:id/disabled', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const id = ctx.params.id!;
    const disabled = form.get('disabled') === 'true';
    if (!(await ok(ctx, who, await api.patch(who.accessToken, `/users/${enc(id)}`, { disabled }), `/admin/users/${enc(id)}`))) return;
    done(ctx, `/admin/users/${enc(id)}`, disabled ? 'disabled' : 'enabled');
  });

  router.post('/users/:id/role', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const id = ctx.params.id!;
    if (!(await ok(ctx, who, await api.patch(who.accessToken, `/users/${enc(id)}`, { role: form.get('role') ?? '' }), `/admin/users/${enc(id)}`))) return;
    done(ctx, `/admin/users/${enc(id)}`, 'role');
  });

  router.post('/users/:id/password', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const id = ctx.params.id!;
    if (!(await ok(ctx, who, await api.post(who.accessToken, `/users/${enc(id)}/password`, { password: (form.get('password') ?? '').slice(0, 1024) }), `/admin/users/${enc(id)}`))) return;
    done(ctx, `/admin/users/${enc(id)}`, 'password');
  });

  router.post('/users/:id/reset-mfa', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who } = accepted;
    const id = ctx.params.id!;
    if (!(await ok(ctx, who, await api.post(who.accessToken, `/users/${enc(id)}/reset-mfa`), `/admin/users/${enc(id)}`))) return;
    done(ctx, `/admin/users/${enc(id)}`, 'mfa');
  });

  router.post('/users/:id/revoke-sessions', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who } = accepted;
    const id = ctx.params.id!;
    if (!(await ok(ctx, who, await api.post(who.accessToken, `/users/${enc(id)}/revoke-sessions`), `/admin/users/${enc(id)}`))) return;
    done(ctx, `/admin/users/${enc(id)}`, 'sessions');
  });

  // Signing keys.
  router.get('/keys', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const result = await ok(ctx, who, await api.get<List>(who.accessToken, '/keys'), '/admin/keys');
    if (!result) return;
    render(ctx, who, 'keys', { title: 'Signing keys', section: 'keys', list: result.body });
  });

  router.post('/keys/rotate', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who } = accepted;
    if (!(await ok(ctx, who, await api.post(who.accessToken, '/keys', {}), '/admin/keys'))) return;
    done(ctx, '/admin/keys', 'rotated');
  });

  router.get('/keys/:kid/retire', (ctx) => {
    const who = signedIn(ctx);
    if (!who || !needs(ctx, who, 'keys:write')) return;
    const kid = ctx.params.kid!;
    render(ctx, who, 'confirm', {
      title: 'Retire this key?',
      section: 'keys',
      what: kid,
      consequence: 'Tokens it signed stop verifying once resource servers refresh their key set. If it is the only key signing for its algorithm, tokens of that algorithm cannot be issued until another is added.',
      action: `/admin/keys/${enc(kid)}/retire`,
      button: 'Retire key',
      back: '/admin/keys',
    });
  });

  // Retired as the CLI does: refused while the key signs or its tokens may be
  // unexpired (key_in_use); only then is the person offered to force it.
  router.post('/keys/:kid/retire', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const kid = ctx.params.kid!;
    const force = form.get('force') === 'true';
    const result = await api.post(who.accessToken, `/keys/${enc(kid)}/retire`, undefined, force ? { force: 'true' } : undefined);
    if (!result.ok && result.problem.code === 'key_in_use') {
      render(
        ctx,
        who,
        'confirm',
        {
          title: 'This key is still in use',
          section: 'keys',
          what: kid,
          problem: result.problem,
          consequence: 'Retiring it now makes tokens it signed fail to verify before they expire. Retire it anyway only if the key is compromised.',
          action: `/admin/keys/${enc(kid)}/retire`,
          force: true,
          button: 'Retire anyway',
          back: '/admin/keys',
        },
        409,
      );
      return;
    }
    if (!(await ok(ctx, who, result, '/admin/keys'))) return;
    done(ctx, '/admin/keys', 'retired');
  });

  // Audit log.
  router.get('/audit', async (ctx) => {
    const who = signedIn(ctx);
    if (!who) return;
    const type = typeof ctx.query.type === 'string' ? ctx.query.type.slice(0, 500) : '';
    const since = typeof ctx.query.since === 'string' ? ctx.query.since.slice(0, 100) : '';
    const result = await api.get<List>(who.accessToken, '/audit-events', { type: type.trim() || undefined, since: sinceParameter(since), limit: '50', cursor: typeof ctx.query.cursor === 'string' ? ctx.query.cursor : undefined });
    if (!result.ok && result.problem.status !== 400) return problemPage(ctx, who, result.problem, '/admin/audit');
    const now = Date.now();
    const spans = [
      { label: 'Last hour', since: new Date(now - 3_600_000).toISOString() },
      { label: 'Last 24 hours', since: new Date(now - 86_400_000).toISOString() },
      { label: 'Last 7 days', since: new Date(now - 7 * 86_400_000).toISOString() },
    ];
    render(ctx, who, 'audit', { title: 'Audit log', section: 'audit', list: result.ok ? result.body : { items: [], next_cursor: null }, problem: result.ok ? undefined : result.problem, type, since, spans }, result.ok ? 200 : 400);
  });

  const routes = router.routes() as Middleware;
  return (ctx, next) => {
    const mine = ctx.path === '/admin' || (ctx.path.startsWith('/admin/') && ctx.path !== '/admin/v1' && !ctx.path.startsWith('/admin/v1/'));
    if (!mine) return next();
    // Its cookies are Secure with an https issuer: over plain http they could not be set (see http/https-pages.ts).
    if (secureOnly && !ctx.secure) throw new InsecureTransportError('This page is only available over https.');
    return routes(ctx, next);
  };
}
