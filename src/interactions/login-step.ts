// The login step: the email and password form, and its submission. Every way
// a sign-in can fail (unknown email, wrong password, disabled account) gets
// the same message and costs the same time (AccountService.authenticate
// verifies against a decoy hash when the email is unknown), so the page never
// reveals whether an account exists. The password is never logged or echoed.
// Brute-force protection and the bound on concurrent password checks are the
// login guard's (throttle/login-guard.ts); this step turns its outcome into a page.
import type { Context } from 'koa';
import type { AccountView } from '../accounts/account-service.ts';
import type { SelfServiceConfig } from '../config/config.ts';
import type { Interaction } from 'oidc-provider';
import type { InteractionAudit } from './interaction-audit.ts';
import type { Metrics } from '../http/metrics.ts';
import { allowPageScripts } from '../http/security-headers.ts';
import type { DeviceCookies } from './device-cookie.ts';
import type { LoginGuard } from '../throttle/login-guard.ts';
import { message, type Message } from '../i18n/message.ts';
import { BUSY_MESSAGE, INVALID_CREDENTIALS, tooManyAttemptsMessage } from './login-messages.ts';
import type { FormTokens } from './form-token.ts';
import type { InteractionPages } from './interaction-page.ts';
import { acrFor } from './acr.ts';

export interface LoginStepDeps {
  readonly guard: Pick<LoginGuard, 'signIn'>;
  readonly devices: DeviceCookies;
  readonly metrics: Pick<Metrics, 'loginFailures' | 'throttled'>;
  readonly pages: InteractionPages;
  readonly formTokens: FormTokens;
  readonly audit: Pick<InteractionAudit, 'loginSucceeded' | 'loginFailed'>;
  /** Which self-service links the page offers. */
  readonly selfService: SelfServiceConfig;
  /**
   * After the right password, before the sign-in finishes: answers the
   * request itself (true) when the sign-in must wait, as when the client
   * requires a verified email and the account's is not
   * (self-service/email-verification.ts).
   */
  readonly holdUnverified?: (ctx: Context, interaction: Interaction, account: AccountView) => Promise<boolean>;
  /**
   * After the right password (and a verified email where needed): answers
   * the request itself (true) when the sign-in waits for a second factor
   * (second-factor-step.ts).
   */
  readonly holdForSecondFactor?: (ctx: Context, interaction: Interaction, accountId: string) => Promise<boolean>;
  /** The enabled upstream identity providers, one "Continue with <name>" button each (federation/federation-step.ts). */
  readonly providerButtons?: () => Promise<readonly { readonly slug: string; readonly name: string }[]>;
}

const PASSWORD_CHANGED = message('reset.done.signIn');

export function createLoginStep({ guard, devices, metrics, pages, formTokens, audit, selfService, holdUnverified, holdForSecondFactor, providerButtons }: LoginStepDeps) {
  async function render(ctx: Context, interaction: Interaction, options: { email?: string; error?: Message; notice?: Message; status?: number } = {}) {
    const hint = typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : '';
    const email = options.email ?? hint;
    // The "Sign in with a passkey" button runs views/static/passkey.js (interactions/passkey-sign-in.ts).
    allowPageScripts(ctx);
    pages.render(
      ctx,
      interaction,
      'login',
      {
        title: 'login.title',
        clientName: await pages.clientName(interaction),
        // One query for every enabled provider; none when federation is not set up.
        providers: providerButtons ? await providerButtons() : [],
        uid: interaction.uid,
        token: formTokens.issue(interaction.uid),
        email,
        error: options.error,
        notice: options.notice,
        // Straight to the password when the email is already known.
        focus: email ? 'password' : 'email',
        signup: selfService.signup === 'open',
        passwordReset: selfService.passwordReset,
      },
      options.status,
    );
  }

  return {
    // After a reset through a mailed link (self-service/password-reset.ts), the page says so. A fixed
    // message chosen by a fixed value: nothing from the query string reaches the page.
    render: (ctx: Context, interaction: Interaction) => render(ctx, interaction, ctx.query.reset === 'done' ? { notice: PASSWORD_CHANGED } : {}),

    async submit(ctx: Context, interaction: Interaction, form: URLSearchParams) {
      const email = (form.get('email') ?? '').slice(0, 320);
      const outcome = await guard.signIn({ email, password: form.get('password') ?? '', ip: ctx.ip, knownAccounts: devices.read(ctx), interaction: interaction.uid });
      if (outcome.kind === 'exhausted') {
        // No Retry-After: this page will not take a password again; a new sign-in request will.
        metrics.throttled.inc({ scope: 'login_interaction' });
        ctx.state.log?.info({ interaction: interaction.uid, scope: 'login_interaction' }, 'sign-in refused: too many attempts on this page');
        await audit.loginFailed(ctx, interaction, email, 'throttled');
        pages.renderProblem(ctx, interaction, 429, {
          title: 'error.attemptsExhausted.title',
          message: message('error.attemptsExhausted.message'),
          code: 'login_attempts_exhausted',
        });
        return;
      }
      if (outcome.kind === 'throttled') {
        metrics.throttled.inc({ scope: outcome.scope });
        ctx.state.log?.info({ interaction: interaction.uid, scope: outcome.scope }, 'sign-in throttled');
        await audit.loginFailed(ctx, interaction, email, 'throttled');
        ctx.set('Retry-After', String(outcome.retryAfter));
        await render(ctx, interaction, { email: email.trim(), error: tooManyAttemptsMessage(outcome.retryAfter), status: 429 });
        return;
      }
      if (outcome.kind === 'busy') {
        ctx.state.log?.warn({ interaction: interaction.uid }, 'sign-in refused: too many password checks waiting');
        ctx.set('Retry-After', '2');
        await render(ctx, interaction, { email: email.trim(), error: BUSY_MESSAGE, status: 503 });
        return;
      }
      if (outcome.kind === 'refused') {
        metrics.loginFailures.inc();
        ctx.state.log?.info({ interaction: interaction.uid }, 'sign-in refused');
        await audit.loginFailed(ctx, interaction, email);
        await render(ctx, interaction, { email: email.trim(), error: INVALID_CREDENTIALS, status: 400 });
        return;
      }
      const { account } = outcome;
      devices.remember(ctx, outcome.accountDigest);
      if (holdUnverified && (await holdUnverified(ctx, interaction, account))) {
        ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id }, 'sign-in waits for email verification');
        return;
      }
      if (holdForSecondFactor && (await holdForSecondFactor(ctx, interaction, account.id))) {
        ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id }, 'sign-in waits for the second factor');
        return;
      }
      ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id }, 'signed in');
      const amr = ['pwd'];
      if (!(await pages.finish(ctx, { login: { accountId: account.id, amr, acr: acrFor(amr), remember: true } }, { mergeWithLastSubmission: false }))) return;
      audit.loginSucceeded(ctx, interaction, account.id);
    },
  };
}

export type LoginStep = ReturnType<typeof createLoginStep>;
