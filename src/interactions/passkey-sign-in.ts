// "Sign in with a passkey" on the login page: two JSON endpoints the page's
// script (views/static/passkey.js) calls, under /interaction/:uid/passkey.
// `options` hands out the assertion options for a discoverable credential
// (no allowCredentials: the authenticator offers the account's passkey) and
// their challenge, bound to this interaction and single use
// (passkeys/webauthn-ceremony.ts). `verify` checks the answer: the passkey it
// names, its signature, origin, RP ID and user verification, the sign
// counter (passkey-service.ts), the account still enabled; then finishes the
// login step like a password would, with amr hwk+user+mfa, and answers the
// URL that resumes the interaction for the script to follow. Like a
// password sign-in, it records login.success (interaction-audit.ts) and
// remembers this browser for the account (device-cookie.ts).
//
// Both carry the login page's form token (bound to the interaction) in the
// JSON body, and both need this browser to be in that interaction (its
// cookie): a JSON endpoint gets the same CSRF protection as the page's form.
// Failures are counted per client IP (throttle scope passkey_ip); every
// answer is JSON with a fixed `error` code the page has a message for.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Interaction } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { readJson } from '../http/json-body.ts';
import type { PasskeyService } from '../passkeys/passkey-service.ts';
import type { WebAuthnCeremony } from '../passkeys/webauthn-ceremony.ts';
import type { ThrottleKeys } from '../throttle/throttle-keys.ts';
import type { ThrottleService } from '../throttle/throttle-service.ts';
import { acrFor } from './acr.ts';
import type { DeviceCookies } from './device-cookie.ts';
import type { FormTokens } from './form-token.ts';
import type { InteractionAudit } from './interaction-audit.ts';
import type { InteractionPages } from './interaction-page.ts';

export interface PasskeySignInDeps {
  readonly pages: Pick<InteractionPages, 'tryLoad' | 'resultUrl'>;
  readonly formTokens: FormTokens;
  readonly ceremony: Pick<WebAuthnCeremony, 'signInOptions' | 'verifySignIn'>;
  readonly passkeys: Pick<PasskeyService, 'recordUse'>;
  readonly accounts: Pick<AccountService, 'findById'>;
  readonly throttle: Pick<ThrottleService, 'check' | 'fail'>;
  readonly keys: Pick<ThrottleKeys, 'passkey' | 'accountDigest'>;
  readonly audit: Pick<AuditService, 'record'>;
  readonly loginAudit: Pick<InteractionAudit, 'loginSucceeded'>;
  readonly devices: Pick<DeviceCookies, 'remember'>;
}

/** What a passkey sign-in proves (RFC 8176): a hardware-bound key, unlocked by the person (user verification), so two factors. */
export const PASSKEY_AMR = ['hwk', 'user', 'mfa'] as const;

export type PasskeySignInError = 'expired' | 'invalid_form_token' | 'invalid_request' | 'throttled' | 'failed';

export const interactionChallengeBinding = (uid: string) => `interaction:${uid}`;

export function createPasskeySignInRoutes(deps: PasskeySignInDeps): Middleware {
  const { pages, formTokens, ceremony, throttle, keys, audit } = deps;
  const router = new Router({ prefix: '/interaction/:uid/passkey' });

  const answer = (ctx: Context, status: number, body: Record<string, unknown>) => {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };
  const fail = (ctx: Context, status: number, error: PasskeySignInError) => answer(ctx, status, { error });

  /** The interaction (at its login step) and the JSON body, or the answer already given. */
  async function accept(ctx: Context): Promise<{ interaction: Interaction; body: Record<string, unknown> } | undefined> {
    const body = await readJson(ctx);
    const interaction = await pages.tryLoad(ctx);
    if (!interaction) return void fail(ctx, 400, 'expired');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return void fail(ctx, 400, 'invalid_request');
    const fields = body as Record<string, unknown>;
    if (!formTokens.verify(interaction.uid, fields.token)) return void fail(ctx, 403, 'invalid_form_token');
    if (interaction.prompt.name !== 'login') return void fail(ctx, 400, 'expired');
    const verdict = await throttle.check([keys.passkey(ctx.ip)]);
    if (!verdict.allowed) {
      ctx.set('Retry-After', String(verdict.retryAfter));
      return void fail(ctx, 429, 'throttled');
    }
    return { interaction, body: fields };
  }

  async function refuse(ctx: Context, interaction: Interaction, reason: string, accountId?: string) {
    await throttle.fail([keys.passkey(ctx.ip)]);
    ctx.state.log?.info({ interaction: interaction.uid, reason }, 'passkey sign-in refused');
    audit.record({ type: 'passkey.failed', actor: accountId ?? null, subject: accountId ?? null, clientId: String(interaction.params.client_id ?? '') || null, ip: ctx.ip, details: { reason } });
    fail(ctx, 400, 'failed');
  }

  router.post('/options', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    answer(ctx, 200, { options: await ceremony.signInOptions(interactionChallengeBinding(accepted.interaction.uid)) });
  });

  router.post('/verify', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { interaction, body } = accepted;
    const verified = await ceremony.verifySignIn(interactionChallengeBinding(interaction.uid), body.response);
    if (!verified.ok) return refuse(ctx, interaction, verified.reason, verified.passkey?.accountId);
    const { passkey } = verified;
    const account = await deps.accounts.findById(passkey.accountId);
    if (!account || account.disabled) return refuse(ctx, interaction, 'account_disabled', passkey.accountId);
    const used = await deps.passkeys.recordUse(passkey, verified.counter);
    if (!used.ok) return refuse(ctx, interaction, used.reason === 'counter' ? 'counter' : 'raced', passkey.accountId);
    const amr = [...PASSKEY_AMR];
    const returnTo = await pages.resultUrl(ctx, { login: { accountId: account.id, amr, acr: acrFor(amr), remember: true } }, { mergeWithLastSubmission: false });
    if (returnTo === undefined) return fail(ctx, 400, 'expired');
    ctx.state.log?.info({ interaction: interaction.uid, accountId: account.id }, 'signed in with a passkey');
    audit.record({ type: 'passkey.signed_in', actor: account.id, subject: account.id, clientId: String(interaction.params.client_id ?? '') || null, ip: ctx.ip, details: { passkey: passkey.id.slice(0, 16) } });
    deps.loginAudit.loginSucceeded(ctx, interaction, account.id, 'passkey');
    deps.devices.remember(ctx, keys.accountDigest(account.email));
    answer(ctx, 200, { redirect: returnTo });
  });

  const routes = router.routes() as Middleware;
  // Every other request passes on at once, without the router's matching or a promise of its own.
  const mounted = /^\/interaction\/[^/]+\/passkey\//;
  return (ctx, next) => (mounted.test(ctx.path) ? routes(ctx, next) : next());
}
