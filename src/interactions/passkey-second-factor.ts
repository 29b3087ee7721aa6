// "Use a passkey instead" on the second-factor page: a passkey as the second
// factor after a password (or in a step-up), the other way to answer the
// code form (second-factor-step.ts). Two JSON endpoints the page's script
// (views/static/passkey.js) calls, under /interaction/:uid/passkey-mfa.
// `options` names only the waiting account's passkeys (allowCredentials) and
// hands out a challenge bound to this interaction and that account, single
// use (passkeys/webauthn-ceremony.ts); `verify` checks the answer is one of
// that account's passkeys (signature, origin, RP ID, sign counter), then
// finishes the login step with amr pwd+hwk+mfa (the MFA level) and answers
// the URL that resumes the interaction for the script to follow.
//
// The account is only ever the one the interaction holds (pendingSecondFactor):
// nothing the browser sends names it. Both endpoints carry the page's form
// token in the JSON body and need this browser's interaction cookie, as the
// passwordless endpoints do (passkey-sign-in.ts); failures count against the
// same per-IP limit, and every answer is JSON with a fixed `error` code.
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
import { createLoginResults, type LoginResults } from './login-result.ts';
import type { FormTokens } from './form-token.ts';
import type { InteractionAudit } from './interaction-audit.ts';
import type { InteractionPages } from './interaction-page.ts';
import { interactionChallengeBinding, type PasskeySignInError } from './passkey-sign-in.ts';
import { pendingSecondFactor } from './second-factor-step.ts';

export interface PasskeySecondFactorDeps {
  readonly pages: Pick<InteractionPages, 'tryLoad' | 'resultUrl'>;
  readonly formTokens: FormTokens;
  readonly ceremony: Pick<WebAuthnCeremony, 'secondFactorOptions' | 'verifySecondFactor'>;
  readonly passkeys: Pick<PasskeyService, 'recordUse'>;
  readonly accounts: Pick<AccountService, 'findById'>;
  readonly throttle: Pick<ThrottleService, 'check' | 'fail'>;
  readonly keys: Pick<ThrottleKeys, 'passkey'>;
  readonly audit: Pick<AuditService, 'record'>;
  readonly loginAudit: Pick<InteractionAudit, 'loginSucceeded'>;
  /** Builds the login result (and writes down a federated sign-in's provider): login-result.ts. */
  readonly loginResults?: LoginResults;
}

/** What a passkey adds to a password (RFC 8176): a hardware-bound key, and so a second factor. */
export const PASSKEY_SECOND_FACTOR_AMR = ['hwk', 'mfa'] as const;

export function createPasskeySecondFactorRoutes(deps: PasskeySecondFactorDeps): Middleware {
  const { pages, formTokens, ceremony, throttle, keys, audit, loginResults = createLoginResults() } = deps;
  const router = new Router({ prefix: '/interaction/:uid/passkey-mfa' });

  const answer = (ctx: Context, status: number, body: Record<string, unknown>) => {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };
  const fail = (ctx: Context, status: number, error: PasskeySignInError) => answer(ctx, status, { error });
  const clientOf = (interaction: Interaction) => String(interaction.params.client_id ?? '') || null;

  /** The interaction, the account waiting for its second factor in it, and the JSON body; or the answer already given. */
  async function accept(ctx: Context) {
    const body = await readJson(ctx);
    const interaction = await pages.tryLoad(ctx);
    if (!interaction) return void fail(ctx, 400, 'expired');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return void fail(ctx, 400, 'invalid_request');
    const fields = body as Record<string, unknown>;
    if (!formTokens.verify(interaction.uid, fields.token)) return void fail(ctx, 403, 'invalid_form_token');
    const waiting = interaction.prompt.name === 'login' ? pendingSecondFactor(interaction) : undefined;
    if (!waiting) return void fail(ctx, 400, 'expired');
    const verdict = await throttle.check([keys.passkey(ctx.ip)]);
    if (!verdict.allowed) {
      ctx.set('Retry-After', String(verdict.retryAfter));
      return void fail(ctx, 429, 'throttled');
    }
    return { interaction, waiting, body: fields };
  }

  async function refuse(ctx: Context, interaction: Interaction, accountId: string, reason: string) {
    await throttle.fail([keys.passkey(ctx.ip)]);
    ctx.state.log?.info({ interaction: interaction.uid, reason }, 'passkey as second factor refused');
    audit.record({ type: 'mfa.failed', actor: accountId, subject: accountId, clientId: clientOf(interaction), ip: ctx.ip, details: { reason, method: 'passkey' } });
    fail(ctx, 400, 'failed');
  }

  router.post('/options', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { interaction, waiting } = accepted;
    answer(ctx, 200, { options: await ceremony.secondFactorOptions(interactionChallengeBinding(interaction.uid), waiting.accountId) });
  });

  router.post('/verify', async (ctx) => {
    const accepted = await accept(ctx);
    if (!accepted) return;
    const { interaction, waiting, body } = accepted;
    const { accountId } = waiting;
    const verified = await ceremony.verifySecondFactor(interactionChallengeBinding(interaction.uid), accountId, body.response);
    if (!verified.ok) return refuse(ctx, interaction, accountId, verified.reason);
    const account = await deps.accounts.findById(accountId);
    if (!account || account.disabled) return refuse(ctx, interaction, accountId, 'account_disabled');
    const used = await deps.passkeys.recordUse(verified.passkey, verified.counter);
    if (!used.ok) return refuse(ctx, interaction, accountId, used.reason === 'counter' ? 'counter' : 'raced');
    const amr = [...waiting.amr, ...PASSKEY_SECOND_FACTOR_AMR];
    const returnTo = await pages.resultUrl(ctx, await loginResults(accountId, amr, waiting.provider), { mergeWithLastSubmission: false });
    if (returnTo === undefined) return fail(ctx, 400, 'expired');
    ctx.state.log?.info({ interaction: interaction.uid, accountId }, 'second factor: a passkey');
    audit.record({ type: 'mfa.verified', actor: accountId, subject: accountId, clientId: clientOf(interaction), ip: ctx.ip, details: { method: 'passkey' } });
    deps.loginAudit.loginSucceeded(ctx, interaction, accountId, waiting.provider ? 'fed' : 'pwd');
    answer(ctx, 200, { redirect: returnTo });
  });

  const routes = router.routes() as Middleware;
  // Every other request passes on at once, without the router's matching or a promise of its own.
  const mounted = /^\/interaction\/[^/]+\/passkey-mfa\//;
  return (ctx, next) => (mounted.test(ctx.path) ? routes(ctx, next) : next());
}
