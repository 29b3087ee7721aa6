// oidc-provider's interaction policy (login, then consent) with one check
// added: a session whose account was disabled or deleted after it signed in.
// findAccount no longer finds that account, and without this check the
// request would go on to the consent checks with no grant loaded (a 500).
// Asking for a login instead means prompt=none gets login_required.
import { interactionPolicy } from 'oidc-provider';

export function createInteractionPolicy() {
  const policy = interactionPolicy.base();
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
