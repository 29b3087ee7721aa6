// The sign-up step of an authorization request (LATCHKEY_SIGNUP=open): a
// form with email, name and password, and its submission. A new account
// starts with its email unverified; the page then says "check your mail",
// and the mailed link verifies the address and finishes this sign-in
// (email-verification.ts). A taken email is never revealed: its owner gets
// the signup-existing mail and the page, its status included, is the same
// as for a free one (AccountService.create hashes before it looks, so the
// timing matches too). The password is never logged or echoed.
import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import { normaliseEmail, parseDisplayName } from '../accounts/account-validation.ts';
import { checkNewPassword } from '../accounts/password-policy.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { AlreadyExistsError, PasswordRuleError } from '../errors.ts';
import { message, type Message } from '../i18n/message.ts';
import { passwordRuleMessage } from './password-rule-message.ts';
import type { FormTokens } from '../interactions/form-token.ts';
import type { InteractionPages } from '../interactions/interaction-page.ts';
import type { EmailVerification } from './email-verification.ts';
import { createSelfServiceAudit } from './self-service-audit.ts';
import { minutesFrom, type SelfServiceDeps } from './self-service-deps.ts';

export interface SignupStepDeps extends SelfServiceDeps {
  readonly pages: InteractionPages;
  readonly formTokens: FormTokens;
  readonly verification: Pick<EmailVerification, 'mailLink' | 'renderSent'>;
}

type Field = 'email' | 'name' | 'password';


interface Refusal {
  readonly field: Field;
  readonly error: Message;
}

interface Entered {
  readonly email: string;
  readonly name: string;
  readonly password: string;
}

/** The first rule the entries break, checked before anything touches the database. */
function check({ email, name, password }: Entered): Refusal | undefined {
  try {
    normaliseEmail(email);
  } catch {
    return { field: 'email', error: message('signup.error.invalidEmail') };
  }
  // PostgreSQL's text refuses a NUL; a lone surrogate would be stored altered.
  if (name.trim() && !isDatabaseText(name, 1024)) return { field: 'name', error: message('signup.error.nameInvalid') };
  try {
    parseDisplayName(name);
  } catch {
    // Past the characters above, what parseDisplayName refuses is the length (or a control character, which no form types).
    return { field: 'name', error: message('signup.error.nameTooLong') };
  }
  try {
    checkNewPassword(password);
  } catch (error) {
    if (error instanceof PasswordRuleError) return { field: 'password', error: passwordRuleMessage(error.rule) };
    throw error;
  }
  return undefined;
}

export function createSignupStep(deps: SignupStepDeps) {
  const { accounts, limits, mail, pages, formTokens, verification } = deps;
  const audit = createSelfServiceAudit(deps);

  async function render(ctx: Context, interaction: Interaction, options: { email?: string; name?: string; refusal?: Refusal; status?: number } = {}) {
    pages.render(
      ctx,
      interaction,
      'signup',
      {
        title: 'signup.title',
        clientName: await pages.clientName(interaction),
        uid: interaction.uid,
        token: formTokens.issue(interaction.uid),
        email: options.email ?? '',
        name: options.name ?? '',
        error: options.refusal?.error,
        errorField: options.refusal?.field,
        focus: options.refusal?.field ?? 'email',
      },
      options.status,
    );
  }

  return {
    render: (ctx: Context, interaction: Interaction) => render(ctx, interaction),

    async submit(ctx: Context, interaction: Interaction, form: URLSearchParams) {
      const entered: Entered = {
        email: (form.get('email') ?? '').slice(0, 320),
        name: (form.get('name') ?? '').slice(0, 1024),
        password: form.get('password') ?? '',
      };
      const kept = { email: entered.email.trim(), name: entered.name.trim() };
      const clientId = String(interaction.params.client_id ?? '') || null;

      const verdict = await limits.signUp(ctx.ip, entered.email);
      if (!verdict.allowed) {
        audit.limited(ctx, clientId, verdict.scope);
        ctx.set('Retry-After', String(verdict.retryAfter));
        await render(ctx, interaction, { ...kept, refusal: { field: 'email', error: message('signup.error.tooManyAttempts', { count: minutesFrom(verdict.retryAfter) }) }, status: 429 });
        return;
      }
      const refusal = check(entered);
      if (refusal) {
        await render(ctx, interaction, { ...kept, refusal, status: 400 });
        return;
      }

      const email = normaliseEmail(entered.email);
      try {
        const account = await accounts.create({ email, name: entered.name, password: entered.password });
        ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id }, 'account created by sign-up');
        audit.signedUp(ctx, clientId, account.id);
        await verification.mailLink(ctx, interaction, account, 'signup');
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
        // No reset link here: the reset pages (a separate step) mail their own.
        await mail.enqueue({ to: email, template: 'signup-existing', data: { email } });
      }
      await verification.renderSent(ctx, interaction, { email });
    },
  };
}

export type SignupStep = ReturnType<typeof createSignupStep>;
