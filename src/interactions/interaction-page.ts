// What every interaction step shares: finding the interaction the browser is
// in (bound to its cookie, and to the uid in the URL), and rendering its
// pages (never cached; the strict page CSP comes from http/security-headers.ts)
// in the language the interaction asked for: its ui_locales, kept in the
// interaction's params from login to consent, else the browser's.
import type { Context } from 'koa';
import { errors, type Interaction, type InteractionResults, type Provider } from 'oidc-provider';
import type { PageData, Views } from '../http/views.ts';
import { message, type Message } from '../i18n/message.ts';

export interface InteractionPages {
  /**
   * The interaction this browser is in, if it is the one named in the URL.
   * Otherwise an "expired" page is rendered and the result is undefined.
   */
  load(ctx: Context): Promise<Interaction | undefined>;
  /**
   * Like load(), but renders nothing when this browser is not in the
   * interaction named in the URL: for a mailed link, which works in any
   * browser and resumes the sign-in only in the one that started it.
   */
  tryLoad(ctx: Context): Promise<Interaction | undefined>;
  /** A page outside any interaction (a mailed link followed in another browser), in the browser's language. */
  renderOutside(ctx: Context, view: string, data: PageData, status?: number): void;
  render(ctx: Context, interaction: Interaction, view: string, data: PageData, status?: number): void;
  /**
   * A readable page for a request that cannot go on; never a redirect to an
   * unchecked URI. In the interaction's language when there is one.
   */
  renderProblem(ctx: Context, interaction: Interaction | undefined, status: number, data: PageData & { message: Message; code: string }): void;
  /** The client's name, for pages; falls back to its id. */
  clientName(interaction: Interaction): Promise<string>;
  /**
   * Stores the step's result through oidc-provider's documented
   * provider.interactionResult (the interaction named by this request's
   * cookie, the one load() checked against the URL) and sends the browser
   * on to resume it (303). False when the interaction is gone meanwhile
   * (expired, resumed by another tab, or its session's account changed):
   * the "expired" page has been rendered instead.
   */
  finish(ctx: Context, result: InteractionResults, options: { mergeWithLastSubmission: boolean }): Promise<boolean>;
  /**
   * Like finish(), but answers nothing: resolves to the URL that resumes the
   * interaction, for a page script that navigates itself (a passkey
   * sign-in); undefined when the interaction is gone meanwhile.
   */
  resultUrl(ctx: Context, result: InteractionResults, options: { mergeWithLastSubmission: boolean }): Promise<string | undefined>;
}

export function createInteractionPages(provider: Provider, views: Views): InteractionPages {
  const pages: InteractionPages = {
    async load(ctx) {
      const interaction = await pages.tryLoad(ctx);
      if (!interaction) renderExpired(ctx);
      return interaction;
    },

    async tryLoad(ctx) {
      let interaction: Interaction | undefined;
      try {
        interaction = await provider.interactionDetails(ctx.req, ctx.res);
      } catch (error) {
        if (!(error instanceof errors.SessionNotFound)) throw error;
      }
      // The cookie names the interaction; a URL naming another one is a stale
      // tab or a forged link, and neither may act on this browser's behalf.
      return interaction && interaction.uid === ctx.params.uid ? interaction : undefined;
    },

    renderOutside(ctx, view, data, status = 200) {
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = views.render(view, data, views.localeFor(ctx));
    },

    async resultUrl(ctx, result, options) {
      try {
        return await provider.interactionResult(ctx.req, ctx.res, result, options);
      } catch (error) {
        if (!(error instanceof errors.SessionNotFound)) throw error;
        return undefined;
      }
    },

    async finish(ctx, result, options) {
      const returnTo = await pages.resultUrl(ctx, result, options);
      if (returnTo === undefined) {
        renderExpired(ctx);
        return false;
      }
      ctx.status = 303;
      ctx.redirect(returnTo);
      return true;
    },

    render(ctx, interaction, view, data, status = 200) {
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = views.render(view, data, views.localeFor(ctx, interaction.params.ui_locales));
    },

    renderProblem(ctx, interaction, status, data) {
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = views.render('error', data, views.localeFor(ctx, interaction?.params.ui_locales));
    },

    async clientName(interaction) {
      const clientId = String(interaction.params.client_id);
      const client = await provider.Client.find(clientId);
      return client?.clientName ?? clientId;
    },
  };
  const renderExpired = (ctx: Context) =>
    pages.renderProblem(ctx, undefined, 400, {
      title: 'error.interactionExpired.title',
      message: message('error.interactionExpired.message'),
      code: 'interaction_expired',
    });
  return pages;
}

