// The pages oidc-provider sends a browser to (interactions.url is
// /interaction/:uid): GET shows the step the interaction is at, and each
// step's form posts back to /interaction/:uid/<step>. Every POST must carry
// the form token bound to the interaction; the interaction itself is bound to
// the browser by oidc-provider's SameSite cookie.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Interaction, Provider } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';
import type { SelfServiceConfig } from '../config/config.ts';
import type { InteractionAudit } from './interaction-audit.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Views } from '../http/views.ts';
import type { DeviceCookies } from './device-cookie.ts';
import type { LoginGuard } from '../throttle/login-guard.ts';
import { message } from '../i18n/message.ts';
import { createConsentStep } from './consent-step.ts';
import { readForm } from './form-body.ts';
import { createFormTokens } from './form-token.ts';
import { createInteractionPages } from './interaction-page.ts';
import { createLoginStep } from './login-step.ts';
import { createSecondFactorStep } from './second-factor-step.ts';
import type { MfaRecords } from '../mfa/mfa-records.ts';
import type { MfaService } from '../mfa/mfa-service.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { createEmailVerification } from '../self-service/email-verification.ts';
import type { SelfServiceDeps } from '../self-service/self-service-deps.ts';
import { createSignupStep } from '../self-service/signup-step.ts';
import { createForgotPasswordPage } from '../self-service/forgot-password-page.ts';
import type { ForgotPassword } from '../self-service/forgot-password.ts';
import { createPasswordReset, type PasswordResetDeps } from '../self-service/password-reset.ts';
import { createFederationStep, type FederationStepDeps } from '../federation/federation-step.ts';
import { createLoginResults, type LoginResults } from './login-result.ts';

export interface InteractionRoutesDeps {
  readonly provider: Provider;
  readonly accounts: Pick<AccountService, 'authenticate' | 'findById'>;
  readonly views: Views;
  /** The shared cookie keys, newest first: form tokens are derived from them. */
  readonly cookieKeys: readonly string[];
  /** Sign-in and consent outcomes for the audit trail. */
  readonly audit: InteractionAudit;
  /** Password sign-in behind brute-force protection and the bound on concurrent checks. */
  readonly guard: Pick<LoginGuard, 'signIn'>;
  readonly devices: DeviceCookies;
  readonly metrics: Pick<Metrics, 'loginFailures' | 'throttled'>;
  /** Seconds a grant lasts (LATCHKEY_GRANT_TTL): the consent page states it for offline access. */
  readonly grantTtl: number;
  /** LATCHKEY_SIGNUP and LATCHKEY_PASSWORD_RESET: which self-service steps the login page offers. */
  readonly selfService: SelfServiceConfig;
  /** Sign-up and email verification (src/self-service/). */
  readonly accountSelfService: SelfServiceDeps;
  /** Forgot password and the reset link (self-service/), mounted when LATCHKEY_PASSWORD_RESET is on. */
  readonly reset: Omit<PasswordResetDeps, 'formTokens' | 'pages'> & { readonly forgot: Pick<ForgotPassword, 'request'> };
  /** Second factors: the code asked for after the password, and in a step-up; an app set up where one is needed. */
  readonly mfa: Pick<MfaService, 'verify' | 'startTotp' | 'pendingTotp' | 'confirmTotp'>;
  readonly mfaRecords: Pick<MfaRecords, 'hasSecondFactor' | 'secondFactors'>;
  readonly events: Pick<AuditService, 'record'>;
  readonly mfaRequired: boolean;
  /** Sign-in through upstream identity providers (federation/): the login page's buttons and the pages after the upstream. */
  readonly federation?: Omit<FederationStepDeps, 'provider' | 'pages' | 'formTokens' | 'guard' | 'loginAudit' | 'events' | 'signupOpen' | 'holdForSecondFactor' | 'loginResults'>;
  /** Builds login results; writes down a federated sign-in's provider (login-result.ts). */
  readonly loginResults?: LoginResults;
}

type Step = 'login' | 'consent';

export function createInteractionRoutes(deps: InteractionRoutesDeps): Middleware {
  const pages = createInteractionPages(deps.provider, deps.views);
  const formTokens = createFormTokens(deps.cookieKeys);
  const loginResults = deps.loginResults ?? createLoginResults();
  const verification = createEmailVerification({ ...deps.accountSelfService, provider: deps.provider, pages, formTokens });
  const signup = createSignupStep({ ...deps.accountSelfService, pages, formTokens, verification });
  const secondFactor = createSecondFactorStep({
    provider: deps.provider,
    mfa: deps.mfa,
    accounts: deps.accounts,
    issuerHost: new URL(deps.accountSelfService.issuer).host,
    mfaRecords: deps.mfaRecords, pages, formTokens, audit: deps.audit, events: deps.events, mfaRequired: deps.mfaRequired, loginResults });
  const federation = deps.federation
    ? createFederationStep({
        ...deps.federation,
        provider: deps.provider,
        pages,
        formTokens,
        guard: deps.guard,
        loginAudit: deps.audit,
        events: deps.events,
        signupOpen: deps.selfService.signup === 'open',
        holdForSecondFactor: secondFactor.hold,
        loginResults,
      })
    : undefined;
  const login = createLoginStep({
    guard: deps.guard,
    devices: deps.devices,
    metrics: deps.metrics,
    pages,
    formTokens,
    audit: deps.audit,
    selfService: deps.selfService,
    holdUnverified: verification.holdUnverified,
    holdForSecondFactor: secondFactor.hold,
    ...(federation && { providerButtons: federation.buttons }),
  });
  const consent = createConsentStep({ provider: deps.provider, accounts: deps.accounts, pages, formTokens, audit: deps.audit, grantTtl: deps.grantTtl });
  const router = new Router({ prefix: '/interaction/:uid' });

  function stepMismatch(ctx: Context, interaction: Interaction) {
    pages.renderProblem(ctx, interaction, 400, {
      title: 'error.stepMismatch.title',
      message: message('error.stepMismatch.message'),
      code: 'interaction_step_mismatch',
    });
  }

  async function show(ctx: Context, expected?: Step) {
    const interaction = await pages.load(ctx);
    if (!interaction) return;
    const step = interaction.prompt.name;
    if (expected && expected !== step) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${encodeURIComponent(interaction.uid)}`);
      return;
    }
    // A password already checked (or a step-up): only the second factor is asked for.
    if (step === 'login' && secondFactor.pending(interaction)) return secondFactor.render(ctx, interaction);
    if (step === 'login') return login.render(ctx, interaction);
    if (step === 'consent' && interaction.session) return consent.render(ctx, interaction);
    return stepMismatch(ctx, interaction);
  }

  /** Loads the interaction and checks the form for a POST to `step` (or to abort, when undefined). */
  async function accept(ctx: Context, step?: Step) {
    const form = await readForm(ctx);
    const interaction = await pages.load(ctx);
    if (!interaction) return undefined;
    if (!formTokens.verify(interaction.uid, form.get('token'))) {
      pages.renderProblem(ctx, interaction, 403, {
        title: 'error.invalidFormToken.title',
        message: message('error.invalidFormToken.message'),
        code: 'invalid_form_token',
      });
      return undefined;
    }
    if (step && (interaction.prompt.name !== step || (step === 'consent' && !interaction.session))) {
      stepMismatch(ctx, interaction);
      return undefined;
    }
    return { interaction, form };
  }

  router.get('/', (ctx) => show(ctx));
  router.get('/login', (ctx) => show(ctx, 'login'));
  router.get('/consent', (ctx) => show(ctx, 'consent'));

  router.post('/login', async (ctx) => {
    const accepted = await accept(ctx, 'login');
    if (accepted) await login.submit(ctx, accepted.interaction, accepted.form);
  });

  router.post('/mfa', async (ctx) => {
    const accepted = await accept(ctx, 'login');
    if (accepted) await secondFactor.submit(ctx, accepted.interaction, accepted.form);
  });

  router.post('/consent', async (ctx) => {
    const accepted = await accept(ctx, 'consent');
    if (accepted) await consent.submit(ctx, accepted.interaction);
  });

  // "Continue with <provider>" and the pages after the upstream (federation/federation-step.ts);
  // the upstream's callback itself is federation/federation-callback.ts, outside the interaction's path.
  if (federation) {
    router.post('/federation', async (ctx) => {
      const accepted = await accept(ctx, 'login');
      if (accepted) await federation.start(ctx, accepted.interaction, accepted.form);
    });
    router.get('/federation', async (ctx) => {
      const interaction = await pages.load(ctx);
      if (!interaction) return;
      if (interaction.prompt.name === 'login') await federation.resume(ctx, interaction);
      else ctx.redirect(`/interaction/${encodeURIComponent(interaction.uid)}`);
    });
    router.post('/federation/link', async (ctx) => {
      const accepted = await accept(ctx, 'login');
      if (accepted) await federation.link(ctx, accepted.interaction, accepted.form);
    });
    router.post('/federation/create', async (ctx) => {
      const accepted = await accept(ctx, 'login');
      if (accepted) await federation.create(ctx, accepted.interaction);
    });
  }

  // Sign-up and email verification (src/self-service/), reached from the login step.
  if (deps.selfService.signup === 'open') {
    router.get('/signup', async (ctx) => {
      const interaction = await pages.load(ctx);
      if (!interaction) return;
      if (interaction.prompt.name === 'login') await signup.render(ctx, interaction);
      else ctx.redirect(`/interaction/${encodeURIComponent(interaction.uid)}`);
    });
    router.post('/signup', async (ctx) => {
      const accepted = await accept(ctx, 'login');
      if (accepted) await signup.submit(ctx, accepted.interaction, accepted.form);
    });
  }
  router.post('/verify/resend', async (ctx) => {
    const accepted = await accept(ctx, 'login');
    if (accepted) await verification.resend(ctx, accepted.interaction, accepted.form);
  });
  // Any browser may follow a mailed link; only the one in this interaction resumes it.
  router.get('/verify', (ctx) => verification.follow(ctx, { resume: true }));
  // Forgot password (self-service/): the form, the one answer, and the mailed link back into this sign-in.
  if (deps.selfService.passwordReset) {
    const forgot = createForgotPasswordPage({ forgot: deps.reset.forgot, audit: deps.reset.audit, pages, formTokens });
    const reset = createPasswordReset({ ...deps.reset, pages, formTokens });
    const place = (ctx: Context) => ({ purpose: 'reset_password', action: `/interaction/${encodeURIComponent(ctx.params.uid!)}/reset`, uid: ctx.params.uid! }) as const;
    router.get('/forgot', async (ctx) => {
      const interaction = await pages.load(ctx);
      if (interaction) forgot.render(ctx, interaction);
    });
    router.post('/forgot', async (ctx) => {
      const accepted = await accept(ctx);
      if (accepted) await forgot.submit(ctx, accepted.interaction, accepted.form);
    });
    router.get('/reset', (ctx) => reset.show(ctx, place(ctx)));
    router.post('/reset', (ctx) => reset.submit(ctx, place(ctx)));
  }

  // "Deny" and "Cancel": the client gets access_denied at its redirect URI.
  router.post('/abort', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    if (accepted.interaction.prompt.name === 'consent') deps.audit.consentDenied(ctx, accepted.interaction);
    await pages.finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
  });

  const routes = router.routes() as Middleware;
  // Anything else under /interaction/ is ours too: a readable page, not the provider's bare 404.
  return (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    return routes(ctx, async () => {
      pages.renderProblem(ctx, undefined, 404, {
        title: 'error.notFound.title',
        message: message('error.notFound.message'),
        code: 'not_found',
      });
    });
  };
}
