// Email verification: mailing a link, the "check your mail" page and its
// resend button, and following the link. A link asked for from a sign-in
// page points into that interaction (/interaction/<uid>/verify?token=…);
// followed in the browser that asked for it, while that sign-in still waits
// at the login prompt, it verifies the address and finishes the sign-in, so
// the code the app gets already says email_verified: true. Followed anywhere
// else (another browser, after the sign-in ended, or /email/verify for links
// asked for outside a sign-in) it verifies and says so.
//
// Following the link (a GET) is what verifies, as the issue asks. Mail
// scanners that prefetch links may use it first: harmless for the address
// (it only proves the mailbox the link went to, which the scanner guards),
// but the person's own click then finds the link used. So a used link
// followed in the browser of its sign-in, for an account whose address is
// verified, still resumes that sign-in: it takes the link's token *and*
// the interaction cookie of the browser that gave the password, the same
// two things a first use takes; the verification itself stays single-use.
import type { Context } from 'koa';
import type { Interaction, Provider } from 'oidc-provider';
import type { AccountView } from '../accounts/account-service.ts';
import { normaliseEmail } from '../accounts/account-validation.ts';
import type { UsedToken } from '../accounts/account-tokens.ts';
import { message, type Message } from '../i18n/message.ts';
import type { FormTokens } from '../interactions/form-token.ts';
import type { InteractionPages } from '../interactions/interaction-page.ts';
import { createSelfServiceAudit, type VerificationCause } from './self-service-audit.ts';
import { minutesFrom, type SelfServiceDeps } from './self-service-deps.ts';

export interface EmailVerificationDeps extends SelfServiceDeps {
  readonly pages: InteractionPages;
  readonly formTokens: FormTokens;
  /** Reads whether a client requires verified emails (its require_verified_email metadata). */
  readonly provider: Pick<Provider, 'Client'>;
}

type Account = Pick<AccountView, 'id' | 'email' | 'name'>;

interface SentPage {
  readonly email: string;
  readonly error?: Message;
  readonly notice?: Message;
  readonly status?: number;
}

// Each way a link can fail, as the page words it (keys spelled out, so the catalog test sees them).
const DEAD_LINK = {
  invalid: { title: 'verify.invalid.title', message: 'verify.invalid.message' },
  used: { title: 'verify.used.title', message: 'verify.used.message' },
  expired: { title: 'verify.expired.title', message: 'verify.expired.message' },
} as const;

const clientIdOf = (interaction: Interaction) => String(interaction.params.client_id ?? '') || null;

export function createEmailVerification(deps: EmailVerificationDeps) {
  const { accounts, accountTokens, limits, mail, pages, formTokens, provider } = deps;
  const audit = createSelfServiceAudit(deps);

  async function clientRequiresVerifiedEmail(interaction: Interaction): Promise<boolean> {
    const client = await provider.Client.find(String(interaction.params.client_id));
    return (client as unknown as { require_verified_email?: unknown } | undefined)?.require_verified_email === true;
  }

  async function renderSent(ctx: Context, interaction: Interaction, page: SentPage) {
    pages.render(
      ctx,
      interaction,
      'verify-sent',
      {
        title: 'verify.sent.title',
        uid: interaction.uid,
        token: formTokens.issue(interaction.uid),
        email: page.email,
        // Said only when it is why the person waits here.
        clientName: (await clientRequiresVerifiedEmail(interaction)) ? await pages.clientName(interaction) : undefined,
        error: page.error,
        notice: page.notice,
      },
      page.status,
    );
  }

  function renderLimited(ctx: Context, interaction: Interaction, email: string, retryAfter: number) {
    ctx.set('Retry-After', String(retryAfter));
    return renderSent(ctx, interaction, { email, error: message('verify.sent.tooManyRequests', { count: minutesFrom(retryAfter) }), status: 429 });
  }

  /** The browser's interaction, if it is the one the link was asked from and it still waits for a sign-in. */
  async function waitingSignIn(ctx: Context, issued: UsedToken): Promise<Interaction | undefined> {
    if (!issued.interactionUid) return undefined;
    const interaction = await pages.tryLoad(ctx);
    return interaction && interaction.uid === issued.interactionUid && interaction.prompt.name === 'login' ? interaction : undefined;
  }

  /** Finishes the sign-in the link was asked from, when this browser is in it; false when it is not (nothing rendered). */
  async function resumeSignIn(ctx: Context, issued: UsedToken): Promise<boolean> {
    const interaction = await waitingSignIn(ctx, issued);
    if (!interaction) return false;
    const account = await accounts.findById(issued.accountId);
    if (!account || account.disabled) return false;
    if (await pages.finish(ctx, { login: { accountId: account.id, amr: ['pwd'], remember: true } }, { mergeWithLastSubmission: false })) {
      audit.signedInByLink(ctx, clientIdOf(interaction), account.id);
    }
    return true;
  }

  function renderNotice(ctx: Context, status: number, data: { title: string; message: Message; detail?: string }) {
    pages.renderOutside(ctx, 'notice', data, status);
  }

  const verification = {
    /** Issues a verify link for this sign-in (retiring the account's earlier ones) and queues the mail. No limit here: callers count it. */
    async mailLink(ctx: Context, interaction: Interaction, account: Account, cause: VerificationCause): Promise<void> {
      const token = await accountTokens.issue({ purpose: 'verify_email', accountId: account.id, email: account.email, interactionUid: interaction.uid });
      const link = new URL(`/interaction/${encodeURIComponent(interaction.uid)}/verify?token=${token}`, deps.issuer).href;
      await mail.enqueue({ to: account.email, template: 'verify-email', data: { name: account.name, email: account.email, link } });
      audit.verificationSent(ctx, clientIdOf(interaction), account.id, cause);
    },

    renderSent,

    /**
     * At sign-in, after the password was right: when the client requires a
     * verified email and this account's is not, the sign-in waits for the
     * link instead of finishing. True when it answered the request.
     */
    async holdUnverified(ctx: Context, interaction: Interaction, account: AccountView): Promise<boolean> {
      if (account.emailVerified || !(await clientRequiresVerifiedEmail(interaction))) return false;
      const verdict = await limits.mail(ctx.ip, account.email);
      if (!verdict.allowed) {
        audit.limited(ctx, clientIdOf(interaction), verdict.scope);
        await renderLimited(ctx, interaction, account.email, verdict.retryAfter);
        return true;
      }
      await verification.mailLink(ctx, interaction, account, 'client_requires');
      await renderSent(ctx, interaction, { email: account.email });
      return true;
    },

    /**
     * "Send the mail again" on the check-your-mail page. A new verify link
     * goes only to an account that still needs one and got one from this
     * very sign-in page; after a sign-up with a taken address, the owner
     * gets the signup-existing mail again. The page is the same whatever
     * happened, so it tells nobody which addresses have accounts.
     */
    async resend(ctx: Context, interaction: Interaction, form: URLSearchParams): Promise<void> {
      let email: string;
      try {
        email = normaliseEmail((form.get('email') ?? '').slice(0, 320));
      } catch {
        await renderSent(ctx, interaction, { email: '', error: message('signup.error.invalidEmail'), status: 400 });
        return;
      }
      const verdict = await limits.mail(ctx.ip, email);
      if (!verdict.allowed) {
        audit.limited(ctx, clientIdOf(interaction), verdict.scope);
        await renderLimited(ctx, interaction, email, verdict.retryAfter);
        return;
      }
      const account = await accounts.findByEmail(email);
      if (account && !account.disabled) {
        if (await accountTokens.issuedFrom(account.id, 'verify_email', interaction.uid)) {
          if (!account.emailVerified) await verification.mailLink(ctx, interaction, account, 'resend');
        } else if (deps.config.signup === 'open') {
          await mail.enqueue({ to: account.email, template: 'signup-existing', data: { email: account.email } });
        }
      }
      await renderSent(ctx, interaction, { email, notice: message('verify.sent.resent') });
    },

    /** GET …/verify?token=…: verifies, then resumes the sign-in when `resume` and this browser is in it. */
    async follow(ctx: Context, { resume }: { resume: boolean }): Promise<void> {
      const allowed = await limits.link(ctx.ip);
      if (!allowed.allowed) {
        ctx.set('Retry-After', String(allowed.retryAfter));
        renderNotice(ctx, 429, { title: 'verify.limited.title', message: message('verify.limited.message', { count: minutesFrom(allowed.retryAfter) }) });
        return;
      }
      const token = ctx.query.token;
      const used = await accountTokens.use('verify_email', token);
      if (used.ok) {
        const { accountId, email } = used.token;
        if (!(await accounts.markEmailVerified(accountId, email))) {
          renderNotice(ctx, 400, { title: 'verify.oldAddress.title', message: message('verify.oldAddress.message') });
          return;
        }
        audit.emailVerified(ctx, accountId);
        if (resume && (await resumeSignIn(ctx, used.token))) return;
        renderNotice(ctx, 200, { title: 'verify.done.title', message: message('verify.done.message', { email }), detail: 'verify.done.detail' });
        return;
      }

      const issued = used.reason === 'invalid' ? undefined : await accountTokens.lookUp('verify_email', token);
      // The scanner case (see the top of this file): the address is verified, only the resume is left to do.
      if (resume && issued && used.reason === 'used') {
        const account = await accounts.findById(issued.accountId);
        if (account?.emailVerified && account.email === issued.email && (await resumeSignIn(ctx, issued))) return;
      }
      await limits.linkFailed(ctx.ip);
      // In the browser of its sign-in, a dead link leads back to the check-your-mail page, which can send a new one.
      const interaction = resume && issued ? await waitingSignIn(ctx, issued) : undefined;
      if (interaction && issued) {
        await renderSent(ctx, interaction, { email: issued.email, error: message(DEAD_LINK[used.reason].title), status: 400 });
        return;
      }
      const dead = DEAD_LINK[used.reason];
      renderNotice(ctx, 400, { title: dead.title, message: message(dead.message), ...(used.reason !== 'invalid' && { detail: 'verify.askAgain' }) });
    },
  };
  return verification;
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
