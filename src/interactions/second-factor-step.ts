// The second-factor step: after the right password, an account with an
// authenticator app or a passkey is not signed in yet; it is asked for a
// code (a TOTP code or a recovery code) or a passkey on a page of the same
// interaction. An account with neither, where the sign-in needs one
// (LATCHKEY_MFA=required, a client's --require-mfa, acr_values), sets up an
// authenticator app right there: the QR code, its first code, the recovery
// codes shown once, then on to the app – never a dead end.
//
// Where "password checked for account X" lives between the POSTs: in the
// interaction itself, server-side, through oidc-provider's documented
// provider.interactionResult (a result holding only `latchkeyMfa`, no
// `login`). It is bound to this interaction (and so to this browser's
// interaction cookie), expires with it, and nothing a browser sends can
// forge it. Skipping the step gets nothing: resuming an interaction whose
// result has no `login` signs no one in, and oidc-provider starts a new
// sign-in. A step-up (a session that has only a password, asked for the MFA
// level: interaction-policy.ts) needs no such state: the account is the
// session's, and only the second factor is asked for (or set up).
//
// The prompt offers what the account has: the code form for an
// authenticator app (and its recovery codes), "Use a passkey instead" for
// passkeys (passkey-second-factor.ts), or both.
//
// Setting up inside the sign-in trusts whoever knows the password at that
// moment, as every "enrol at next sign-in" policy does; the account's owner
// sees the new app on the account page, and the audit log has the event.
import type { Context } from 'koa';
import type { Interaction, Provider } from 'oidc-provider';
import { message, type Message } from '../i18n/message.ts';
import type { MfaRecords } from '../mfa/mfa-records.ts';
import type { MfaService } from '../mfa/mfa-service.ts';
import { enrolmentView } from '../mfa/totp-qr.ts';
import type { AccountService } from '../accounts/account-service.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { mfaWanted } from './mfa-wanted.ts';
import type { FormTokens } from './form-token.ts';
import type { InteractionAudit } from './interaction-audit.ts';
import type { InteractionPages } from './interaction-page.ts';
import { MFA_REQUIRED_REASON } from './interaction-policy.ts';
import { tooManyAttemptsMessage } from './login-messages.ts';
import { allowPageScripts } from '../http/security-headers.ts';
import type { SignInProvider } from '../federation/federated-sign-ins.ts';
import { createLoginResults, type LoginResults } from './login-result.ts';

/** The key of the pending state in the interaction's result. */
const PENDING = 'latchkeyMfa';

export interface SecondFactorStepDeps {
  readonly provider: Pick<Provider, 'interactionResult' | 'Client'>;
  readonly mfa: Pick<MfaService, 'verify' | 'startTotp' | 'pendingTotp' | 'confirmTotp'>;
  readonly accounts: Pick<AccountService, 'findById'>;
  /** The issuer's host: the name an authenticator app shows beside the account's email. */
  readonly issuerHost: string;
  readonly mfaRecords: Pick<MfaRecords, 'hasSecondFactor' | 'secondFactors'>;
  readonly pages: InteractionPages;
  readonly formTokens: FormTokens;
  readonly audit: Pick<InteractionAudit, 'loginSucceeded'>;
  readonly events: Pick<AuditService, 'record'>;
  /** LATCHKEY_MFA=required. */
  readonly mfaRequired: boolean;
  /** Builds the login result (and writes down a federated sign-in's provider): login-result.ts. */
  readonly loginResults?: LoginResults;
}

/** How the sign-in got as far as the second factor: a password (the default), or an upstream identity provider. */
export interface FirstFactor {
  readonly amr: readonly string[];
  readonly provider?: SignInProvider;
}

export function createSecondFactorStep({ provider, mfa, accounts, issuerHost, mfaRecords, pages, formTokens, audit, events, mfaRequired, loginResults = createLoginResults() }: SecondFactorStepDeps) {
  /** Whether this sign-in must reach the MFA level (the same rule as interaction-policy.ts's step-up check). */
  async function wanted(interaction: Interaction): Promise<boolean> {
    const clientId = String(interaction.params.client_id);
    const client = await provider.Client.find(clientId);
    const clientRequiresMfa = (client as unknown as { require_mfa?: unknown } | undefined)?.require_mfa === true;
    return mfaWanted({ clientId, acrValues: interaction.params.acr_values, clientRequiresMfa }, mfaRequired);
  }

  /**
   * An account without a second factor, where one is needed: the page that
   * sets up an authenticator app (a pending secret, kept until its first
   * code confirms it, like the account page's).
   */
  async function renderEnrol(ctx: Context, interaction: Interaction, accountId: string, options: { error?: Message; status?: number } = {}) {
    const account = await accounts.findById(accountId);
    const label = { issuer: issuerHost, email: account?.email ?? accountId };
    let pending = await mfa.pendingTotp(accountId, label);
    if (!pending && (await mfa.startTotp(accountId))) pending = await mfa.pendingTotp(accountId, label);
    // Confirmed in between (another tab): the ordinary prompt then.
    if (!pending) return render(ctx, interaction, accountId, options);
    pages.render(
      ctx,
      interaction,
      'mfa-enrol',
      { title: 'mfa.enrol.title', clientName: await pages.clientName(interaction), uid: interaction.uid, token: formTokens.issue(interaction.uid), error: options.error, enrolment: await enrolmentView(pending) },
      options.status,
    );
  }

  /** After the first code: the recovery codes, shown this once, and on to the app. */
  async function renderEnrolled(ctx: Context, interaction: Interaction, recoveryCodes?: readonly string[]) {
    pages.render(ctx, interaction, 'mfa-enrol', { title: 'mfa.enrol.title', clientName: await pages.clientName(interaction), uid: interaction.uid, token: formTokens.issue(interaction.uid), enrolled: true, recoveryCodes });
  }

  async function render(ctx: Context, interaction: Interaction, accountId: string, options: { error?: Message; status?: number } = {}) {
    const factors = await mfaRecords.secondFactors(accountId);
    // The "Use a passkey instead" button runs views/static/passkey.js.
    if (factors.passkey) allowPageScripts(ctx);
    pages.render(
      ctx,
      interaction,
      'mfa-prompt',
      { title: 'mfa.prompt.title', clientName: await pages.clientName(interaction), uid: interaction.uid, token: formTokens.issue(interaction.uid), error: options.error, code: factors.totp, passkey: factors.passkey },
      options.status,
    );
  }

  return {
    pending: pendingSecondFactor,

    /**
     * After the right password: holds the sign-in for a second factor when
     * the account has one (true: the browser was sent to the code page).
     */
    async hold(ctx: Context, interaction: Interaction, accountId: string, first?: FirstFactor): Promise<boolean> {
      if (!(await mfaRecords.hasSecondFactor(accountId)) && !(await wanted(interaction))) return false;
      await provider.interactionResult(ctx.req, ctx.res, { [PENDING]: { accountId, ...(first && { amr: [...first.amr], provider: first.provider }) } }, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(`/interaction/${encodeURIComponent(interaction.uid)}`);
      return true;
    },

    async render(ctx: Context, interaction: Interaction) {
      const waiting = pendingSecondFactor(interaction);
      if (!waiting) return;
      if (waiting.enrolled) return renderEnrolled(ctx, interaction);
      if (!(await mfaRecords.hasSecondFactor(waiting.accountId))) return renderEnrol(ctx, interaction, waiting.accountId);
      return render(ctx, interaction, waiting.accountId);
    },

    async submit(ctx: Context, interaction: Interaction, form: URLSearchParams): Promise<void> {
      const waiting = pendingSecondFactor(interaction);
      if (!waiting) {
        ctx.status = 303;
        ctx.redirect(`/interaction/${encodeURIComponent(interaction.uid)}`);
        return;
      }
      const { accountId } = waiting;
      const clientId = String(interaction.params.client_id);
      // "Continue" after the recovery codes: the app's first code was checked in this interaction.
      if (waiting.enrolled) return signIn(ctx, interaction, waiting, [...waiting.amr, 'otp', 'mfa']);
      if (!(await mfaRecords.hasSecondFactor(accountId))) return enrol(ctx, interaction, waiting, form);
      const checked = await mfa.verify(accountId, (form.get('code') ?? '').slice(0, 100));
      if (!checked.ok) {
        events.record({ type: 'mfa.failed', subject: accountId, clientId, ip: ctx.ip, details: { reason: checked.reason } });
        if (checked.reason === 'throttled') {
          ctx.set('Retry-After', String(checked.retryAfter));
          return render(ctx, interaction, accountId, { error: tooManyAttemptsMessage(checked.retryAfter), status: 429 });
        }
        return render(ctx, interaction, accountId, { error: message('mfa.prompt.wrong'), status: 400 });
      }
      // RFC 8176: a recovery code is not a one-time password from a device; both make the sign-in multi-factor.
      const amr = checked.method === 'otp' ? [...waiting.amr, 'otp', 'mfa'] : [...waiting.amr, 'mfa'];
      if (checked.method === 'recovery_code') events.record({ type: 'mfa.recovery_code_used', actor: accountId, subject: accountId, clientId, ip: ctx.ip });
      events.record({ type: 'mfa.verified', actor: accountId, subject: accountId, clientId, ip: ctx.ip, details: { method: checked.method } });
      return signIn(ctx, interaction, waiting, amr);
    },
  };

  async function signIn(ctx: Context, interaction: Interaction, waiting: PendingSecondFactor, amr: string[]) {
    const { accountId } = waiting;
    if (!(await pages.finish(ctx, await loginResults(accountId, amr, waiting.provider), { mergeWithLastSubmission: false }))) return;
    audit.loginSucceeded(ctx, interaction, accountId, waiting.provider ? 'fed' : 'pwd');
  }

  /** The first code of the app being set up: confirms it, then shows the recovery codes. */
  async function enrol(ctx: Context, interaction: Interaction, waiting: PendingSecondFactor, form: URLSearchParams) {
    const { accountId } = waiting;
    const clientId = String(interaction.params.client_id);
    const confirmed = await mfa.confirmTotp(accountId, (form.get('code') ?? '').slice(0, 100));
    if (!confirmed.ok) {
      events.record({ type: 'mfa.failed', subject: accountId, clientId, ip: ctx.ip, details: { reason: confirmed.reason } });
      if (confirmed.reason === 'throttled') {
        ctx.set('Retry-After', String(confirmed.retryAfter));
        return renderEnrol(ctx, interaction, accountId, { error: tooManyAttemptsMessage(confirmed.retryAfter), status: 429 });
      }
      return renderEnrol(ctx, interaction, accountId, { error: message('mfa.error.wrongCode'), status: 400 });
    }
    events.record({ type: 'mfa.totp_enrolled', actor: accountId, subject: accountId, clientId, ip: ctx.ip });
    events.record({ type: 'mfa.recovery_codes_generated', actor: accountId, subject: accountId, clientId, ip: ctx.ip, details: { count: confirmed.recoveryCodes.length } });
    await provider.interactionResult(ctx.req, ctx.res, { [PENDING]: { accountId, amr: [...waiting.amr], provider: waiting.provider, enrolled: true } }, { mergeWithLastSubmission: false });
    return renderEnrolled(ctx, interaction, confirmed.recoveryCodes);
  }
}

interface PendingSecondFactor {
  readonly accountId: string;
  /** The methods used so far. */
  readonly amr: readonly string[];
  /** The upstream identity provider of a federated sign-in, named in its ID tokens (idp). */
  readonly provider?: SignInProvider;
  /** An authenticator app was set up and its first code checked in this interaction. */
  readonly enrolled: boolean;
}

/**
 * The account waiting for its second factor in this interaction, and the
 * methods it has used so far: the one held after its password (hold), or a
 * step-up's session. Read from the interaction alone, so the passkey
 * endpoints (passkey-second-factor.ts) see the same account as the code form.
 */
export function pendingSecondFactor(interaction: Interaction): PendingSecondFactor | undefined {
  const held = (interaction.result as Record<string, unknown> | undefined)?.[PENDING] as { accountId?: unknown; amr?: unknown; provider?: unknown; enrolled?: unknown } | undefined;
  if (typeof held?.accountId === 'string') {
    // Written only by hold() and enrol() above: a federated first factor names its methods and provider.
    const amr = Array.isArray(held.amr) && held.amr.every((method) => typeof method === 'string') ? (held.amr as string[]) : ['pwd'];
    const named = held.provider as Partial<SignInProvider> | undefined;
    const provider = typeof named?.name === 'string' && typeof named.slug === 'string' ? { name: named.name, slug: named.slug } : undefined;
    return { accountId: held.accountId, amr, enrolled: held.enrolled === true, ...(provider && { provider }) };
  }
  if (interaction.prompt.reasons.includes(MFA_REQUIRED_REASON) && interaction.session?.accountId) {
    return { accountId: interaction.session.accountId, amr: ['pwd'], enrolled: false };
  }
  return undefined;
}

export type SecondFactorStep = ReturnType<typeof createSecondFactorStep>;
