// Which token request is redeeming a code or refresh token at this moment:
// the single-use wrappers (single-use-grants.ts) run oidc-provider's own
// grant handlers inside this scope, and the adapter reads it, so the
// decision "leave `consumed` out, the consume statement decides" is made by
// the wrappers alone and holds exactly while they run. The adapter finds the
// request through oidc-provider's own request context (Provider.ctx, public
// and typed), so a redemption costs no AsyncLocalStorage of its own.
import { Provider, type KoaContextWithOIDC } from 'oidc-provider';

const redeemingNow = new WeakSet<KoaContextWithOIDC>();

/** Runs `handler` as the redemption of the code or refresh token `ctx` presents. */
export async function redeeming(ctx: KoaContextWithOIDC, handler: () => Promise<void>): Promise<void> {
  redeemingNow.add(ctx);
  try {
    await handler();
  } finally {
    redeemingNow.delete(ctx);
  }
}

/** The token request whose redemption is running here, if any. */
export function currentRedemption(): KoaContextWithOIDC | undefined {
  const ctx = Provider.ctx;
  return ctx && redeemingNow.has(ctx) ? ctx : undefined;
}
