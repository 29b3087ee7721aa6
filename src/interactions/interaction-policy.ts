// oidc-provider's interaction policy (login, then consent) with one check
// added: a session whose account was disabled or deleted after it signed in.
// findAccount no longer finds that account, and without this check the
// request would go on to the consent checks with no grant loaded (a 500).
// Asking for a login instead means prompt=none gets login_required.
// And the step-up: a session signed in with a password only, when the
// request wants the MFA level (acr_values naming it, a client with
// require_mfa, or LATCHKEY_MFA=required), is asked to log in again: the
// login step then asks only for the second factor (second-factor-step.ts).
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_MFA } from './acr.ts';
import { mfaWanted } from './mfa-wanted.ts';

export const MFA_REQUIRED_REASON = 'mfa_required';

export interface InteractionPolicyOptions {
  /** LATCHKEY_MFA=required: every sign-in needs the MFA level. */
  readonly mfaRequired: boolean;
}

/** Whether this authorization request needs the MFA level. */
export function wantsMfa(ctx: KoaContextWithOIDC, options: InteractionPolicyOptions): boolean {
  const client = ctx.oidc.client as unknown as { clientId?: string; require_mfa?: unknown } | undefined;
  return mfaWanted({ clientId: client?.clientId, acrValues: ctx.oidc.params?.acr_values, clientRequiresMfa: client?.require_mfa === true }, options.mfaRequired);
}

export function createInteractionPolicy(options: InteractionPolicyOptions = { mfaRequired: false }) {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      MFA_REQUIRED_REASON,
      'the request needs a second factor and the session has only a password',
      'login_required',
      (ctx) => Boolean(ctx.oidc.session?.accountId && ctx.oidc.session.acr !== ACR_MFA && wantsMfa(ctx, options)),
    ),
  );
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      'account_unavailable',
      'the signed-in account is no longer available',
      'login_required',
      (ctx) => Boolean(ctx.oidc.session?.accountId && !ctx.oidc.account),
    ),
    0,
  );
  return policy;
}
