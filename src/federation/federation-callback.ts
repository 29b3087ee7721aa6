// GET /federation/<slug>/callback: where every upstream sends the browser
// back (the one redirect URI to register there). Taken only when the sealed
// federation cookie names an interaction (federation-cookie.ts), that
// interaction holds a round trip to this provider in its "started" stage,
// and the URL's state is the one both hold: no login CSRF (a callback
// planted in another browser has no such cookie), no replay (the cookie is
// cleared and the interaction moves to "spent" or "returned" at the first
// use; the state itself is single use, federation-states.ts, so of callbacks
// in flight at once exactly one goes on). Then the upstream client redeems
// the code and checks the ID token (oidc-upstream.ts, github-upstream.ts),
// the interaction holds who signed in, and the browser goes on to
// /interaction/<uid>/federation, inside the interaction again
// (federation-step.ts).
//
// Every failure is a readable page (with the way back to the login page
// when the interaction is known), a log line naming the provider and why,
// and a federation.failed event; never a 500, and nothing from the upstream
// reaches the page but the provider's own name.
import type { Context, Middleware } from 'koa';
import type { Interaction, Provider } from 'oidc-provider';
import { isDatabaseText } from '../db/database-text.ts';
import { message, type Message } from '../i18n/message.ts';
import type { InteractionPages } from '../interactions/interaction-page.ts';
import type { FederationAudit, FederationFailureReason } from './federation-audit.ts';
import type { FederationStates } from './federation-states.ts';
import { callbackPath, type FederationCookie } from './federation-cookie.ts';
import { findInteraction, heldFederation, hold, type HeldProvider } from './federation-held.ts';
import type { StepIdentityProvider } from './federation-step.ts';
import type { UpstreamClients } from './upstream-clients.ts';
import { UpstreamError } from './upstream-identity.ts';

export interface FederationCallbackDeps {
  readonly provider: Pick<Provider, 'Interaction'>;
  readonly issuer: string;
  readonly pages: Pick<InteractionPages, 'render' | 'renderProblem'>;
  readonly cookie: Pick<FederationCookie, 'take'>;
  readonly states: Pick<FederationStates, 'use'>;
  readonly clients: Pick<UpstreamClients, 'for'>;
  readonly identityProviders: { findBySlug(slug: string): Promise<StepIdentityProvider | undefined | null> };
  readonly federationAudit: FederationAudit;
}

const PATH = /^\/federation\/([^/]+)\/callback$/;

/** What the page says for each way the upstream failed. */
const UPSTREAM_PAGES: Record<UpstreamError['code'], { status: number; title: string; message: string }> = {
  upstream_unreachable: { status: 502, title: 'federation.error.unavailable.title', message: 'federation.error.unavailable.message' },
  upstream_misconfigured: { status: 502, title: 'federation.error.unavailable.title', message: 'federation.error.unavailable.message' },
  upstream_error: { status: 400, title: 'federation.error.upstream.title', message: 'federation.error.upstream.message' },
  upstream_invalid_response: { status: 502, title: 'federation.error.invalidResponse.title', message: 'federation.error.invalidResponse.message' },
};

export function createFederationCallback(deps: FederationCallbackDeps): Middleware {
  const { pages, federationAudit } = deps;

  function refuse(ctx: Context, interaction: Interaction | undefined, provider: Pick<HeldProvider, 'slug'>, reason: FederationFailureReason, page: { status: number; title: string | Message; message: Message; code: string }, extra: { upstreamError?: string; why?: string } = {}) {
    federationAudit.failed(ctx, { provider: provider.slug, clientId: interaction ? String(interaction.params.client_id ?? '') || null : null }, reason, extra);
    if (!interaction) return pages.renderProblem(ctx, undefined, page.status, { title: page.title, message: page.message, code: page.code });
    pages.render(ctx, interaction, 'notice', { title: page.title, message: page.message, code: page.code, link: { href: `/interaction/${encodeURIComponent(interaction.uid)}`, label: 'federation.back' } }, page.status);
  }

  const stale = { status: 400, title: 'federation.error.stale.title', message: message('federation.error.stale.message') } as const;

  async function callback(ctx: Context, slug: string): Promise<void> {
    const found = isDatabaseText(slug, 200) ? await deps.identityProviders.findBySlug(slug) : undefined;
    if (!found?.enabled) {
      pages.renderProblem(ctx, undefined, 404, { title: 'federation.error.unknownProvider.title', message: message('federation.error.unknownProvider.message'), code: 'unknown_identity_provider' });
      return;
    }
    const idp: StepIdentityProvider = found;
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
    // Read and cleared at once: whatever happens next, this browser cannot use it again.
    const cookie = deps.cookie.take(ctx, idp.slug);
    if (!cookie) return refuse(ctx, undefined, idp, 'state_missing', { ...stale, code: 'federation_state_missing' });
    const interaction = await findInteraction(deps.provider, cookie.uid);
    if (!interaction) return refuse(ctx, undefined, idp, 'state_missing', { status: 400, title: 'error.interactionExpired.title', message: message('error.interactionExpired.message'), code: 'interaction_expired' });
    if (cookie.slug !== idp.slug || state === undefined || state !== cookie.state) {
      return refuse(ctx, interaction, idp, 'state_mismatch', { ...stale, code: 'federation_state_mismatch' });
    }
    const held = heldFederation(interaction);
    if (!held || held.provider.id !== idp.id || interaction.prompt.name !== 'login') {
      return refuse(ctx, interaction, idp, 'state_mismatch', { ...stale, code: 'federation_state_mismatch' });
    }
    // The cookie's state matched, but the interaction has moved past this round trip: the same callback again.
    if (held.stage !== 'started') return refuse(ctx, interaction, idp, 'replayed', { ...stale, code: 'federation_callback_replayed' });
    if (held.checks.state !== state) return refuse(ctx, interaction, idp, 'state_mismatch', { ...stale, code: 'federation_state_mismatch' });

    // Used up before the code is redeemed, by one conditional update: of callbacks in flight at once, one goes on.
    if (!(await deps.states.use(state))) return refuse(ctx, interaction, idp, 'replayed', { ...stale, code: 'federation_callback_replayed' });
    await hold(interaction, { stage: 'spent', provider: held.provider });
    const callbackUrl = new URL(`${deps.issuer}${callbackPath(idp.slug)}`);
    callbackUrl.search = ctx.querystring;
    let identity;
    try {
      identity = await deps.clients.for(idp).finish(idp, callbackUrl, held.checks);
    } catch (error) {
      const failure = error instanceof UpstreamError ? error : new UpstreamError('upstream_misconfigured', String(error));
      const page = UPSTREAM_PAGES[failure.code];
      return refuse(
        ctx,
        interaction,
        idp,
        failure.code,
        { status: page.status, title: message(page.title, { provider: idp.name }), message: message(page.message, { provider: idp.name }), code: failure.upstreamError === 'access_denied' ? 'access_denied' : failure.code },
        { ...(failure.upstreamError && { upstreamError: failure.upstreamError }), why: failure.message },
      );
    }
    await hold(interaction, { stage: 'returned', provider: held.provider, identity });
    ctx.status = 303;
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(`/interaction/${encodeURIComponent(interaction.uid)}/federation`);
  }

  return async (ctx, next) => {
    const match = ctx.method === 'GET' ? PATH.exec(ctx.path) : null;
    if (!match) return next();
    let slug: string;
    try {
      slug = decodeURIComponent(match[1]!);
    } catch {
      slug = '';
    }
    await callback(ctx, slug);
  };
}
