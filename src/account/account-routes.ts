// The account page, /account: who is signed in comes from oidc-provider's
// session (account-session.ts); a browser without one is sent to sign in
// and comes back. Each form posts to its own path, carries the form token
// bound to the session, answers a refused input with the page and a readable
// message (400, or 429 over a limit), and a done action with 303 back to
// /account and a one-line notice. The change-email link
// (/account/email/confirm) works in any browser, signed in or not. An
// account without a password (made by a federated sign-in) cannot pass the
// current-password forms: the page offers a mailed link to set one instead.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';
import type { AccountTokens } from '../accounts/account-tokens.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { FederatedIdentities } from '../federation/federated-identities.ts';
import { InvalidInputError, PasswordRuleError } from '../errors.ts';
import type { Views } from '../http/views.ts';
import { message, type Message } from '../i18n/message.ts';
import { passwordRuleMessage } from '../self-service/password-rule-message.ts';
import type { DeviceCookies } from '../interactions/device-cookie.ts';
import { readForm } from '../interactions/form-body.ts';
import type { MailService } from '../mail/mail-service.ts';
import type { ArtifactRepository } from '../oidc/artifact-repository.ts';
import type { AccountLimits } from '../throttle/account-limits.ts';
import type { LoginGuard } from '../throttle/login-guard.ts';
import type { MfaRecords } from '../mfa/mfa-records.ts';
import type { MfaService } from '../mfa/mfa-service.ts';
import { tooManyAttemptsMessage } from '../interactions/login-messages.ts';
import { createAccountFormTokens } from './account-form-token.ts';
import { createAccountPage, type AccountSection } from './account-page.ts';
import { createAccountSession, type SignedIn } from './account-session.ts';
import { createCurrentPasswordCheck, type PasswordCheck } from './current-password.ts';
import { addLinkedSignInRoutes } from './linked-sign-in-routes.ts';
import { CONFIRM_EMAIL_PATH, createEmailChange } from './email-change.ts';
import { addPasskeyRoutes, PASSKEY_NOT_FOUND } from './passkey-routes.ts';
import type { PasskeyService } from '../passkeys/passkey-service.ts';
import type { WebAuthnCeremony } from '../passkeys/webauthn-ceremony.ts';

export interface AccountRoutesDeps {
  readonly provider: Provider;
  readonly issuer: string;
  readonly accounts: Pick<AccountService, 'findById' | 'hasPassword' | 'findByEmail' | 'rename' | 'changeEmail' | 'changePassword' | 'delete'>;
  readonly accountTokens: Pick<AccountTokens, 'issue' | 'use' | 'retire' | 'deleteForAccount'>;
  /** The upstream sign-ins linked to the account: listed and unlinked on the page. */
  readonly federatedIdentities: Pick<FederatedIdentities, 'listForAccount' | 'unlink'>;
  /** Whether /password/reset takes links (LATCHKEY_PASSWORD_RESET): where an account without a password sets one. */
  readonly passwordReset: boolean;
  readonly artifacts: Pick<ArtifactRepository, 'listGrants' | 'listSessions' | 'revokeGrant' | 'endSessionsExcept'>;
  readonly views: Views;
  /** The shared cookie keys, newest first: form tokens are derived from them. */
  readonly cookieKeys: readonly string[];
  readonly guard: Pick<LoginGuard, 'signIn'>;
  readonly devices: Pick<DeviceCookies, 'read'>;
  readonly limits: Pick<AccountLimits, 'mail' | 'link' | 'linkFailed'>;
  readonly mail: Pick<MailService, 'enqueue'>;
  readonly audit: Pick<AuditService, 'record'>;
  /** Authenticator app and recovery codes (section "Two-step sign-in"). */
  readonly mfa: Pick<MfaService, 'startTotp' | 'pendingTotp' | 'confirmTotp' | 'regenerateRecoveryCodes'>;
  readonly mfaRecords: Pick<MfaRecords, 'status' | 'reset'>;
  /** The account's passkeys (listed, registered, removed on the page) and the WebAuthn ceremony that registers them. */
  readonly passkeys: Pick<PasskeyService, 'list' | 'hasRoom' | 'add' | 'remove' | 'removeAll'>;
  readonly ceremony: Pick<WebAuthnCeremony, 'registrationOptions' | 'verifyRegistration'>;
}

/** The notices a done action leaves (?done=…): only these, never text from the URL. */
const NOTICES: Readonly<Record<string, Message>> = {
  name: message('account.done.name'),
  email: message('account.done.emailRequested'),
  password: message('account.done.password'),
  app: message('account.done.grantRevoked'),
  sessions: message('account.done.sessionsEnded'),
  mfaStarted: message('mfa.account.done.started'),
  mfaRemoved: message('mfa.account.done.removed'),
  passkey: message('passkey.account.done.registered'),
  passkeyRemoved: message('passkey.account.done.removed'),
  unlinked: message('account.done.unlinked'),
  passwordLink: message('account.done.passwordLink'),
};

/** Far above any password the policy accepts (256 code points), below the form cap: a field is cut here before use. */
const PASSWORD_FIELD_MAX = 1024;

export function createAccountRoutes(deps: AccountRoutesDeps): Middleware {
  const { accounts, artifacts, audit } = deps;
  const sessions = createAccountSession({ provider: deps.provider, accounts, issuer: deps.issuer });
  const formTokens = createAccountFormTokens(deps.cookieKeys);
  const page = createAccountPage({
    provider: deps.provider,
    artifacts,
    passkeys: deps.passkeys,
    federatedIdentities: deps.federatedIdentities,
    passwordReset: deps.passwordReset,
    views: deps.views,
    formTokens,
    mfa: deps.mfa,
    mfaRecords: deps.mfaRecords,
    issuerHost: new URL(deps.issuer).host,
  });
  const checkPassword = createCurrentPasswordCheck({ guard: deps.guard, devices: deps.devices });
  // No password to check: refused at once, without counting a failed sign-in against the account.
  const checkCurrentPassword = (ctx: Context, who: SignedIn, password: string): Promise<PasswordCheck> =>
    who.hasPassword ? checkPassword(ctx, who, password) : Promise.resolve({ ok: false, status: 409, message: message('account.error.noPassword') });
  const emailChange = createEmailChange({ accounts, accountTokens: deps.accountTokens, limits: deps.limits, mail: deps.mail, audit, issuer: deps.issuer });
  const router = new Router({ prefix: '/account' });

  function notice(ctx: Context, status: number, data: { title: string; message: Message; link?: { href: string; label: string } }) {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = deps.views.render('notice', data, deps.views.localeFor(ctx));
  }

  const done = (ctx: Context, what: keyof typeof NOTICES) => {
    ctx.status = 303;
    ctx.redirect(`/account?done=${what}`);
  };

  const refuse = (ctx: Context, who: SignedIn, section: AccountSection, refusal: { status: number; message: Message; retryAfter?: number }) => {
    if (refusal.retryAfter !== undefined) ctx.set('Retry-After', String(refusal.retryAfter));
    return page.render(ctx, who, { status: refusal.status, error: { section, message: refusal.message } });
  };

  /**
   * The signed-in person and their form, for a POST; undefined when the
   * answer is already given (not signed in: back to /account, which signs
   * in; no or a wrong form token: 403).
   */
  async function accept(ctx: Context): Promise<{ who: SignedIn; form: URLSearchParams } | undefined> {
    const form = await readForm(ctx);
    const who = await sessions.current(ctx);
    if (!who) {
      ctx.status = 303;
      ctx.redirect('/account');
      return undefined;
    }
    if (!formTokens.verify(who.sessionUid, form.get('token'))) {
      ctx.status = 403;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = deps.views.render('error', { title: 'error.invalidFormToken.title', message: message('account.error.formToken'), code: 'invalid_form_token' }, deps.views.localeFor(ctx));
      return undefined;
    }
    return { who, form };
  }

  const field = (form: URLSearchParams, name: string, max = PASSWORD_FIELD_MAX) => (form.get(name) ?? '').slice(0, max);

  router.get('/', async (ctx) => {
    const who = await sessions.current(ctx);
    if (!who) return sessions.startSignIn(ctx);
    const what = typeof ctx.query.done === 'string' && Object.hasOwn(NOTICES, ctx.query.done) ? ctx.query.done : undefined;
    await page.render(ctx, who, { notice: what ? NOTICES[what] : undefined });
  });

  router.get('/callback', async (ctx) => {
    // A callback whose state this browser did not send off is someone else's (or a replay): nothing to finish.
    if (!sessions.acceptCallback(ctx) || ctx.query.error !== undefined) {
      return notice(ctx, 400, { title: 'account.signIn.failedTitle', message: message('account.signIn.failed'), link: { href: '/account', label: 'account.signIn.again' } });
    }
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.post('/name', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    try {
      await accounts.rename(who.account.id, field(form, 'name', 1000));
    } catch (error) {
      if (error instanceof InvalidInputError) return refuse(ctx, who, 'name', { status: 400, message: message('account.error.name') });
      throw error;
    }
    audit.record({ type: 'account.name_changed', actor: who.account.id, subject: who.account.id, ip: ctx.ip });
    done(ctx, 'name');
  });

  router.post('/email', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const checked = await checkCurrentPassword(ctx, who, field(form, 'password'));
    if (!checked.ok) return refuse(ctx, who, 'email', checked);
    const requested = await emailChange.request(ctx, who, field(form, 'email', 1000));
    if (!requested.ok) return refuse(ctx, who, 'email', requested);
    done(ctx, 'email');
  });

  router.get(CONFIRM_EMAIL_PATH.slice('/account'.length), async (ctx) => {
    const confirmed = await emailChange.confirm(ctx, ctx.query.token);
    if (!confirmed.ok) {
      if (confirmed.retryAfter !== undefined) ctx.set('Retry-After', String(confirmed.retryAfter));
      return notice(ctx, confirmed.status, { title: 'account.link.invalidTitle', message: confirmed.message });
    }
    notice(ctx, 200, { title: 'account.emailChanged.title', message: message('account.emailChanged.message', { email: confirmed.email }), link: { href: '/account', label: 'account.emailChanged.link' } });
  });

  // An account without a password (made by a federated sign-in) sets one
  // through the reset link, mailed to its address: the session alone is not
  // enough (a stolen one must not add a password and keep the account), the
  // mailbox is. The same link, limits and audit as "forgot password".
  router.post('/password/link', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who } = accepted;
    if (!deps.passwordReset) return refuse(ctx, who, 'password', { status: 404, message: message('account.error.passwordResetOff') });
    const verdict = await deps.limits.mail(ctx.ip, who.account.email);
    if (!verdict.allowed) return refuse(ctx, who, 'password', { status: 429, message: message('account.error.tooManyRequests'), retryAfter: verdict.retryAfter });
    const token = await deps.accountTokens.issue({ purpose: 'reset_password', accountId: who.account.id, email: who.account.email });
    const link = `${deps.issuer}/password/reset?token=${token}`;
    await deps.mail.enqueue({ to: who.account.email, template: 'reset-password', data: { name: who.account.name, email: who.account.email, link } });
    audit.record({ type: 'account.password_reset_requested', actor: who.account.id, subject: who.account.id, ip: ctx.ip });
    done(ctx, 'passwordLink');
  });

  router.post('/password', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const checked = await checkCurrentPassword(ctx, who, field(form, 'current'));
    if (!checked.ok) return refuse(ctx, who, 'password', checked);
    try {
      await accounts.changePassword(who.account.id, field(form, 'password'), who.sessionUid);
    } catch (error) {
      if (error instanceof PasswordRuleError) return refuse(ctx, who, 'password', { status: 400, message: passwordRuleMessage(error.rule) });
      throw error;
    }
    await deps.mail.enqueue({ to: who.account.email, template: 'password-changed', data: { name: who.account.name, email: who.account.email } });
    audit.record({ type: 'account.password_changed', actor: who.account.id, subject: who.account.id, ip: ctx.ip });
    done(ctx, 'password');
  });

  // Two-step sign-in: an authenticator app (pending until its first code) and recovery codes.
  router.post('/mfa/totp/start', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    // An app already confirmed stays as it is: removing it takes the password.
    await deps.mfa.startTotp(accepted.who.account.id);
    done(ctx, 'mfaStarted');
  });

  router.post('/mfa/totp/confirm', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const confirmed = await deps.mfa.confirmTotp(who.account.id, field(form, 'code', 100));
    if (!confirmed.ok) {
      if (confirmed.reason === 'throttled') return refuse(ctx, who, 'mfa', { status: 429, message: tooManyAttemptsMessage(confirmed.retryAfter), retryAfter: confirmed.retryAfter });
      return refuse(ctx, who, 'mfa', { status: 400, message: message('mfa.error.wrongCode') });
    }
    audit.record({ type: 'mfa.totp_enrolled', actor: who.account.id, subject: who.account.id, ip: ctx.ip });
    audit.record({ type: 'mfa.recovery_codes_generated', actor: who.account.id, subject: who.account.id, ip: ctx.ip, details: { count: confirmed.recoveryCodes.length } });
    // Answered with the page itself, not a redirect: the codes are shown this once and are in no URL.
    await page.render(ctx, who, { notice: message('mfa.account.done.enrolled'), recoveryCodes: confirmed.recoveryCodes });
  });

  router.post('/mfa/totp/remove', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const checked = await checkCurrentPassword(ctx, who, field(form, 'password'));
    if (!checked.ok) return refuse(ctx, who, 'mfa', checked);
    if (await deps.mfaRecords.reset(who.account.id)) {
      audit.record({ type: 'mfa.totp_removed', actor: who.account.id, subject: who.account.id, ip: ctx.ip });
    }
    done(ctx, 'mfaRemoved');
  });

  router.post('/mfa/recovery-codes', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const checked = await checkCurrentPassword(ctx, who, field(form, 'password'));
    if (!checked.ok) return refuse(ctx, who, 'mfa', checked);
    const codes = await deps.mfa.regenerateRecoveryCodes(who.account.id);
    if (!codes) return refuse(ctx, who, 'mfa', { status: 409, message: message('mfa.error.noApp') });
    audit.record({ type: 'mfa.recovery_codes_generated', actor: who.account.id, subject: who.account.id, ip: ctx.ip, details: { count: codes.length } });
    await page.render(ctx, who, { notice: message('mfa.account.done.regenerated'), recoveryCodes: codes });
  });

  router.post('/apps/revoke', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const key = field(form, 'grant', 100);
    // Only the person's own grants are listed, and only those can be found: another account's key is "not found".
    const grant = (await artifacts.listGrants(who.account.id)).find((candidate) => candidate.key === key);
    if (!grant || !(await artifacts.revokeGrant(who.account.id, key))) {
      return refuse(ctx, who, 'apps', { status: 404, message: message('account.error.grantNotFound') });
    }
    audit.record({ type: 'account.grant_revoked', actor: who.account.id, subject: who.account.id, clientId: grant.clientId, ip: ctx.ip });
    done(ctx, 'app');
  });

  router.post('/sessions/end', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who } = accepted;
    const ended = await artifacts.endSessionsExcept(who.account.id, who.sessionUid);
    audit.record({ type: 'account.sessions_ended', actor: who.account.id, subject: who.account.id, ip: ctx.ip, details: { count: ended } });
    done(ctx, 'sessions');
  });

  addPasskeyRoutes(router, {
    sessions,
    formTokens,
    passkeys: deps.passkeys,
    ceremony: deps.ceremony,
    audit,
    acceptForm: accept,
    refuse: (ctx, who, status) => refuse(ctx, who, 'passkeys', { status, message: PASSKEY_NOT_FOUND }),
    done,
  });

  addLinkedSignInRoutes(router, {
    federatedIdentities: deps.federatedIdentities,
    passkeys: deps.passkeys,
    audit,
    acceptForm: accept,
    refuse: (ctx, who, status, reason) => refuse(ctx, who, 'links', { status, message: reason }),
    done,
  });

  router.post('/delete', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    if (form.get('confirm') !== 'yes') return refuse(ctx, who, 'delete', { status: 400, message: message('account.error.confirmDelete') });
    const checked = await checkCurrentPassword(ctx, who, field(form, 'password'));
    if (!checked.ok) return refuse(ctx, who, 'delete', checked);
    await accounts.delete(who.account.id);
    await deps.accountTokens.deleteForAccount(who.account.id);
    await deps.mfaRecords.reset(who.account.id);
    await deps.passkeys.removeAll(who.account.id);
    // accounts.delete removed every session of the account; this one's cookie now points at nothing.
    await who.end();
    audit.record({ type: 'account.deleted', actor: who.account.id, subject: who.account.id, ip: ctx.ip });
    notice(ctx, 200, { title: 'account.deleted.title', message: message('account.deleted.message') });
  });

  const routes = router.routes() as Middleware;
  return (ctx, next) => (ctx.path === '/account' || ctx.path.startsWith('/account/') ? routes(ctx, next) : next());
}
