// The login step's "Continue with <provider>" buttons and what follows the
// round trip to the upstream, all inside the interaction (its cookie, its
// form token):
//
//   start    (POST /interaction/:uid/federation) sends the browser to the
//            upstream with fresh state, nonce and PKCE; the callback
//            (federation-callback.ts) brings it back to
//   resume   (GET /interaction/:uid/federation), which decides:
//            - the upstream identity is linked: sign in as its account
//              (amr fed, the ID token's idp claim; a second factor still
//              applies), after taking the upstream's name, picture and
//              verified email onto the account;
//            - not linked, and the upstream vouches for the email (verified)
//              of an existing account: the linking page, which links only
//              after that account's password (link);
//            - not linked, no account with that email: with sign-up open,
//              the "Create account" page (create); closed, a page that says so;
//            - the email not verified by the upstream (or none): no link is
//              offered and no account made with it, whatever exists.
//
// An upstream identity never reaches an account by its email alone.
import type { Context } from 'koa';
import type { Interaction, Provider } from 'oidc-provider';
import { normaliseEmail, parseDisplayName } from '../accounts/account-validation.ts';
import type { AccountService, AccountView } from '../accounts/account-service.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { AlreadyExistsError, AlreadyLinkedError } from '../errors.ts';
import { message, type Message } from '../i18n/message.ts';
import type { FormTokens } from '../interactions/form-token.ts';
import type { InteractionAudit } from '../interactions/interaction-audit.ts';
import type { InteractionPages } from '../interactions/interaction-page.ts';
import { BUSY_MESSAGE, INVALID_CREDENTIALS, tooManyAttemptsMessage } from '../interactions/login-messages.ts';
import type { LoginResults } from '../interactions/login-result.ts';
import type { FirstFactor } from '../interactions/second-factor-step.ts';
import type { AccountLimits } from '../throttle/account-limits.ts';
import type { LoginGuard } from '../throttle/login-guard.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { FederationAudit, FederationEventContext, FederationFailureReason } from './federation-audit.ts';
import { callbackPath, type FederationCookie } from './federation-cookie.ts';
import { heldFederation, heldResult, type HeldProvider } from './federation-held.ts';
import type { FederatedIdentities } from './federated-identities.ts';
import type { FederationStates } from './federation-states.ts';
import type { IdentityProviderService, IdentityProviderView } from './identity-provider-service.ts';
import type { UpstreamClients } from './upstream-clients.ts';
import { UpstreamError, type UpstreamIdentity } from './upstream-identity.ts';

/** An identity provider as the step needs it: the service's view. */
export type StepIdentityProvider = IdentityProviderView;

export interface FederationStepDeps {
  readonly provider: Pick<Provider, 'interactionResult' | 'Client'>;
  readonly issuer: string;
  readonly pages: InteractionPages;
  readonly formTokens: FormTokens;
  readonly cookie: Pick<FederationCookie, 'set'>;
  readonly states: Pick<FederationStates, 'issue'>;
  readonly clients: Pick<UpstreamClients, 'for'>;
  readonly identityProviders: Pick<IdentityProviderService, 'listEnabled' | 'findBySlug'>;
  readonly federatedIdentities: Pick<FederatedIdentities, 'find' | 'link' | 'touch'>;
  readonly accounts: Pick<AccountService, 'findById' | 'findByEmail' | 'createFederated' | 'updateProfileFromUpstream' | 'hasPassword'>;
  readonly guard: Pick<LoginGuard, 'signIn'>;
  readonly loginAudit: Pick<InteractionAudit, 'loginSucceeded' | 'loginFailed'>;
  readonly federationAudit: FederationAudit;
  readonly events: Pick<AuditService, 'record'>;
  /** LATCHKEY_SIGNUP=open: a first federated sign-in may create an account. */
  readonly signupOpen: boolean;
  /** The sign-up page's limits (per network, per address), which a federated account creation counts against too. */
  readonly limits: Pick<AccountLimits, 'signUp'>;
  /** After the upstream, before the sign-in finishes: answers itself (true) when a second factor is due (second-factor-step.ts). */
  readonly holdForSecondFactor?: (ctx: Context, interaction: Interaction, accountId: string, first: FirstFactor) => Promise<boolean>;
  readonly loginResults: LoginResults;
}

/** What the login page shows for each enabled provider. */
export interface ProviderButton {
  readonly slug: string;
  readonly name: string;
}

/** The upstream's identity, cleaned for our pages and database (PostgreSQL refuses a NUL). */
interface CheckedIdentity {
  readonly subject: string;
  /** Normalised; undefined when missing or not an address. */
  readonly email: string | undefined;
  readonly emailVerified: boolean;
  readonly name: string | null;
  readonly picture: string | null;
}

function checked(identity: UpstreamIdentity): CheckedIdentity | undefined {
  if (!isDatabaseText(identity.subject, 255) || identity.subject.length === 0) return undefined;
  let email: string | undefined;
  try {
    email = identity.email !== undefined && isDatabaseText(identity.email, 320) ? normaliseEmail(identity.email) : undefined;
  } catch {
    email = undefined;
  }
  let name: string | null = null;
  try {
    name = identity.name !== undefined && isDatabaseText(identity.name, 200) ? parseDisplayName(identity.name) : null;
  } catch {
    name = null;
  }
  const picture = identity.picture !== undefined && isDatabaseText(identity.picture, 2048) && /^https?:\/\/[^\s]+$/i.test(identity.picture) ? identity.picture : null;
  return { subject: identity.subject, email, emailVerified: email !== undefined && identity.emailVerified, name, picture };
}

export function createFederationStep(deps: FederationStepDeps) {
  const { pages, formTokens, identityProviders, federatedIdentities, accounts, federationAudit } = deps;
  const loginHref = (interaction: Interaction) => `/interaction/${encodeURIComponent(interaction.uid)}`;
  const at = (interaction: Interaction, provider: Pick<HeldProvider, 'slug'>): FederationEventContext => ({
    provider: provider.slug,
    clientId: String(interaction.params.client_id ?? '') || null,
  });

  /** A page that ends this federated attempt, with the way back to the login page (where the password form still works). */
  function renderRefusal(ctx: Context, interaction: Interaction, status: number, page: { title: string | Message; message: Message; detail?: Message; code: string }) {
    pages.render(ctx, interaction, 'notice', { ...page, link: { href: loginHref(interaction), label: 'federation.back' } }, status);
  }

  /** The provider for a request, when it exists and is enabled; otherwise a 404 page. */
  async function enabledProvider(ctx: Context, interaction: Interaction, slug: string | null | undefined): Promise<StepIdentityProvider | undefined> {
    const found = slug && slug.length <= 200 && isDatabaseText(slug, 200) ? await identityProviders.findBySlug(slug) : undefined;
    if (found?.enabled) return found;
    pages.renderProblem(ctx, interaction, 404, { title: 'federation.error.unknownProvider.title', message: message('federation.error.unknownProvider.message'), code: 'unknown_identity_provider' });
    return undefined;
  }

  async function clientRequiresVerifiedEmail(interaction: Interaction): Promise<boolean> {
    const client = await deps.provider.Client.find(String(interaction.params.client_id));
    return (client as unknown as { require_verified_email?: unknown } | undefined)?.require_verified_email === true;
  }

  /** The sign-in itself, once an account is settled: the same checks as after a password. */
  async function signIn(ctx: Context, interaction: Interaction, account: AccountView, provider: HeldProvider, amr: readonly string[]) {
    if (account.disabled) {
      federationAudit.failed(ctx, at(interaction, provider), 'account_disabled', { accountId: account.id });
      return renderRefusal(ctx, interaction, 403, { title: 'federation.error.disabled.title', message: message('federation.error.disabled.message'), code: 'account_disabled' });
    }
    // The mailed verification link would finish the sign-in as a password one; a federated sign-in asks the person to use the password instead.
    if (!account.emailVerified && (await clientRequiresVerifiedEmail(interaction))) {
      federationAudit.failed(ctx, at(interaction, provider), 'email_unverified', { accountId: account.id });
      return renderRefusal(ctx, interaction, 403, { title: 'federation.error.clientNeedsVerified.title', message: message('federation.error.clientNeedsVerified.message'), code: 'email_unverified' });
    }
    const signInProvider = { name: provider.name, slug: provider.slug };
    if (deps.holdForSecondFactor && (await deps.holdForSecondFactor(ctx, interaction, account.id, { amr, provider: signInProvider }))) {
      ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id, provider: provider.slug }, 'federated sign-in waits for the second factor');
      return;
    }
    if (!(await pages.finish(ctx, await deps.loginResults(account.id, amr, signInProvider), { mergeWithLastSubmission: false }))) return;
    ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id, provider: provider.slug }, 'signed in through an upstream identity provider');
    deps.loginAudit.loginSucceeded(ctx, interaction, account.id, 'fed');
    federationAudit.signedIn(ctx, at(interaction, provider), account.id);
  }

  /** The upstream's name and picture (and its email, when it verified it) onto a linked account. */
  async function refreshProfile(ctx: Context, accountId: string, identity: CheckedIdentity): Promise<void> {
    try {
      await accounts.updateProfileFromUpstream(accountId, {
        name: identity.name,
        picture: identity.picture,
        ...(identity.email !== undefined && identity.emailVerified && { email: identity.email, emailVerified: true }),
      });
    } catch (error) {
      // Another account has that email, say: the sign-in goes on with the profile as it was.
      ctx.state.log?.warn({ accountId, err: error }, 'could not update the profile from the upstream');
    }
  }

  /** The held upstream identity, when this interaction is back from the upstream; otherwise the browser goes to the login page. */
  function returned(ctx: Context, interaction: Interaction) {
    const held = heldFederation(interaction);
    if (held?.stage === 'returned') {
      const identity = checked(held.identity);
      if (identity) return { provider: held.provider, identity };
    }
    ctx.status = 303;
    ctx.redirect(loginHref(interaction));
    return undefined;
  }

  async function renderLink(ctx: Context, interaction: Interaction, provider: HeldProvider, email: string, options: { error?: Message; status?: number } = {}) {
    pages.render(
      ctx,
      interaction,
      'federation-link',
      {
        title: message('federation.link.title', { provider: provider.name }),
        provider: provider.name,
        email,
        uid: interaction.uid,
        token: formTokens.issue(interaction.uid),
        back: loginHref(interaction),
        error: options.error,
      },
      options.status,
    );
  }

  function renderCreate(ctx: Context, interaction: Interaction, provider: HeldProvider, identity: CheckedIdentity & { email: string }) {
    pages.render(ctx, interaction, 'federation-create', {
      title: message('federation.create.title', { provider: provider.name }),
      provider: provider.name,
      email: identity.email,
      name: identity.name ?? '',
      uid: interaction.uid,
      token: formTokens.issue(interaction.uid),
      back: loginHref(interaction),
    });
  }

  /**
   * The account with the upstream's (verified) email: its password links it.
   * One without a password (made through another provider) cannot be proven
   * here; the page says to sign in the way it was made.
   */
  async function offerLink(ctx: Context, interaction: Interaction, provider: HeldProvider, account: AccountView, email: string) {
    if (await accounts.hasPassword(account.id)) return renderLink(ctx, interaction, provider, email);
    federationAudit.failed(ctx, at(interaction, provider), 'link_needs_password', { accountId: account.id });
    return renderRefusal(ctx, interaction, 409, {
      title: message('federation.link.title', { provider: provider.name }),
      message: message('federation.error.noPassword.message', { provider: provider.name }),
      code: 'link_needs_password',
    });
  }

  /** The upstream did not vouch for an email: nothing is linked or created with it, whatever accounts exist. */
  function refuseUnverified(ctx: Context, interaction: Interaction, provider: HeldProvider, identity: CheckedIdentity) {
    const reason: FederationFailureReason = identity.email === undefined ? 'email_missing' : 'email_unverified';
    federationAudit.failed(ctx, at(interaction, provider), reason);
    renderRefusal(ctx, interaction, 403, {
      title: message('federation.error.unverified.title', { provider: provider.name }),
      message: message(identity.email === undefined ? 'federation.error.unverified.noEmail' : 'federation.error.unverified.message', { provider: provider.name }),
      detail: message('federation.error.unverified.detail', { provider: provider.name }),
      code: reason,
    });
  }

  return {
    /** The enabled providers, by name: one query, on the login page's path. */
    async buttons(): Promise<ProviderButton[]> {
      return (await identityProviders.listEnabled()).map(({ slug, name }) => ({ slug, name }));
    },

    /** "Continue with <provider>": off to the upstream, the round trip's checks held in the interaction and the browser's cookie. */
    async start(ctx: Context, interaction: Interaction, form: URLSearchParams): Promise<void> {
      const provider = await enabledProvider(ctx, interaction, form.get('provider'));
      if (!provider) return;
      const held: HeldProvider = { id: provider.id, slug: provider.slug, name: provider.name };
      let begun;
      try {
        begun = await deps.clients.for(provider).begin(provider, `${deps.issuer}${callbackPath(provider.slug)}`);
      } catch (error) {
        const failure = error instanceof UpstreamError ? error : new UpstreamError('upstream_misconfigured', String(error));
        federationAudit.failed(ctx, at(interaction, held), failure.code, { why: failure.message });
        return renderRefusal(ctx, interaction, 502, {
          title: message('federation.error.unavailable.title', { provider: provider.name }),
          message: message('federation.error.unavailable.message', { provider: provider.name }),
          code: failure.code,
        });
      }
      await deps.states.issue(begun.checks.state);
      await deps.provider.interactionResult(ctx.req, ctx.res, heldResult({ stage: 'started', provider: held, checks: begun.checks }), { mergeWithLastSubmission: false });
      deps.cookie.set(ctx, { uid: interaction.uid, slug: provider.slug, state: begun.checks.state });
      ctx.state.log?.info({ interaction: interaction.uid, provider: provider.slug }, 'sent to an upstream identity provider');
      ctx.status = 303;
      ctx.redirect(begun.url.href);
    },

    /** Back from the upstream (the callback checked it and holds who signed in). */
    async resume(ctx: Context, interaction: Interaction): Promise<void> {
      const back = returned(ctx, interaction);
      if (!back) return;
      const { provider, identity } = back;
      const current = await identityProviders.findBySlug(provider.slug);
      if (!current?.enabled || current.id !== provider.id) {
        pages.renderProblem(ctx, interaction, 404, { title: 'federation.error.unknownProvider.title', message: message('federation.error.unknownProvider.message'), code: 'unknown_identity_provider' });
        return;
      }
      const linked = await federatedIdentities.find(provider.id, identity.subject);
      if (linked) {
        const now = new Date();
        await refreshProfile(ctx, linked.accountId, identity);
        await federatedIdentities.touch(provider.id, identity.subject, identity.email ?? null, now);
        const account = await accounts.findById(linked.accountId);
        if (!account) {
          federationAudit.failed(ctx, at(interaction, provider), 'account_disabled', { accountId: linked.accountId });
          return renderRefusal(ctx, interaction, 403, { title: 'federation.error.disabled.title', message: message('federation.error.disabled.message'), code: 'account_disabled' });
        }
        return signIn(ctx, interaction, account, provider, ['fed']);
      }
      if (identity.email === undefined || !identity.emailVerified) return refuseUnverified(ctx, interaction, provider, identity);
      const existing = await accounts.findByEmail(identity.email);
      if (existing) return offerLink(ctx, interaction, provider, existing, identity.email);
      if (!deps.signupOpen) {
        federationAudit.failed(ctx, at(interaction, provider), 'signup_closed');
        return renderRefusal(ctx, interaction, 403, {
          title: 'federation.error.signupClosed.title',
          message: message('federation.error.signupClosed.message', { provider: provider.name }),
          code: 'signup_closed',
        });
      }
      return renderCreate(ctx, interaction, provider, { ...identity, email: identity.email });
    },

    /** The linking page's password: proves the account is this person's, then links and signs in. */
    async link(ctx: Context, interaction: Interaction, form: URLSearchParams): Promise<void> {
      const back = returned(ctx, interaction);
      if (!back) return;
      const { provider, identity } = back;
      if (identity.email === undefined || !identity.emailVerified) return refuseUnverified(ctx, interaction, provider, identity);
      // The account is the one whose email the upstream vouched for; nothing in the form chooses it.
      const outcome = await deps.guard.signIn({ email: identity.email, password: form.get('password') ?? '', ip: ctx.ip, knownAccounts: [], interaction: interaction.uid });
      switch (outcome.kind) {
        case 'exhausted':
          await deps.loginAudit.loginFailed(ctx, interaction, identity.email, 'throttled');
          return pages.renderProblem(ctx, interaction, 429, { title: 'error.attemptsExhausted.title', message: message('error.attemptsExhausted.message'), code: 'login_attempts_exhausted' });
        case 'throttled':
          await deps.loginAudit.loginFailed(ctx, interaction, identity.email, 'throttled');
          ctx.set('Retry-After', String(outcome.retryAfter));
          return renderLink(ctx, interaction, provider, identity.email, { error: tooManyAttemptsMessage(outcome.retryAfter), status: 429 });
        case 'busy':
          ctx.set('Retry-After', '2');
          return renderLink(ctx, interaction, provider, identity.email, { error: BUSY_MESSAGE, status: 503 });
        case 'refused':
          ctx.state.log?.info({ interaction: interaction.uid, provider: provider.slug }, 'linking refused: wrong password');
          await deps.loginAudit.loginFailed(ctx, interaction, identity.email);
          return renderLink(ctx, interaction, provider, identity.email, { error: INVALID_CREDENTIALS, status: 400 });
      }
      const { account } = outcome;
      const now = new Date();
      const linked = await federatedIdentities.find(provider.id, identity.subject);
      if (linked && linked.accountId !== account.id) {
        federationAudit.failed(ctx, at(interaction, provider), 'already_linked', { accountId: account.id });
        return renderRefusal(ctx, interaction, 409, { title: 'federation.error.alreadyLinked.title', message: message('federation.error.alreadyLinked.message', { provider: provider.name }), code: 'already_linked' });
      }
      if (!linked) {
        try {
          await federatedIdentities.link({ providerId: provider.id, subject: identity.subject, accountId: account.id, email: identity.email, now });
        } catch (error) {
          if (!(error instanceof AlreadyLinkedError)) throw error;
          federationAudit.failed(ctx, at(interaction, provider), 'already_linked', { accountId: account.id });
          return renderRefusal(ctx, interaction, 409, { title: 'federation.error.alreadyLinked.title', message: message('federation.error.alreadyLinked.message', { provider: provider.name }), code: 'already_linked' });
        }
        federationAudit.linked(ctx, at(interaction, provider), account.id, 'password');
      }
      await refreshProfile(ctx, account.id, identity);
      const current = (await accounts.findById(account.id)) ?? account;
      // Both were used: the upstream's sign-in and this account's password.
      return signIn(ctx, interaction, current, provider, ['fed', 'pwd']);
    },

    /** "Create account" on the confirmation page: a new account with the upstream's verified email, linked, signed in. */
    async create(ctx: Context, interaction: Interaction): Promise<void> {
      const back = returned(ctx, interaction);
      if (!back) return;
      const { provider, identity } = back;
      if (identity.email === undefined || !identity.emailVerified) return refuseUnverified(ctx, interaction, provider, identity);
      if (!deps.signupOpen) {
        federationAudit.failed(ctx, at(interaction, provider), 'signup_closed');
        return renderRefusal(ctx, interaction, 403, { title: 'federation.error.signupClosed.title', message: message('federation.error.signupClosed.message', { provider: provider.name }), code: 'signup_closed' });
      }
      if (await federatedIdentities.find(provider.id, identity.subject)) {
        // Linked meanwhile (another tab): the ordinary sign-in.
        ctx.status = 303;
        ctx.redirect(`${loginHref(interaction)}/federation`);
        return;
      }
      // Counted like the sign-up page: an upstream that hands out identities freely must not mint accounts here without bound.
      const verdict = await deps.limits.signUp(ctx.ip, identity.email);
      if (!verdict.allowed) {
        federationAudit.failed(ctx, at(interaction, provider), 'throttled');
        ctx.set('Retry-After', String(verdict.retryAfter));
        return renderRefusal(ctx, interaction, 429, { title: 'federation.error.throttled.title', message: message('federation.error.throttled.message'), code: 'too_many_requests' });
      }
      let account: AccountView;
      try {
        account = await accounts.createFederated({ email: identity.email, emailVerified: true, name: identity.name, picture: identity.picture });
      } catch (error) {
        // Someone made an account with this email in between: it is theirs until its password says otherwise.
        if (!(error instanceof AlreadyExistsError)) throw error;
        const existing = await accounts.findByEmail(identity.email);
        if (!existing) throw error;
        return offerLink(ctx, interaction, provider, existing, identity.email);
      }
      deps.events.record({ type: 'account.signup', ip: ctx.ip, clientId: at(interaction, provider).clientId, actor: account.id, subject: account.id, details: { provider: provider.slug } });
      try {
        await federatedIdentities.link({ providerId: provider.id, subject: identity.subject, accountId: account.id, email: identity.email, now: new Date() });
      } catch (error) {
        if (!(error instanceof AlreadyLinkedError)) throw error;
        federationAudit.failed(ctx, at(interaction, provider), 'already_linked', { accountId: account.id });
        return renderRefusal(ctx, interaction, 409, { title: 'federation.error.alreadyLinked.title', message: message('federation.error.alreadyLinked.message', { provider: provider.name }), code: 'already_linked' });
      }
      federationAudit.linked(ctx, at(interaction, provider), account.id, 'signup');
      ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id, provider: provider.slug }, 'account created by a federated sign-up');
      return signIn(ctx, interaction, account, provider, ['fed']);
    },
  };
}

export type FederationStep = ReturnType<typeof createFederationStep>;
