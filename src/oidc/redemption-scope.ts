// Which token request is redeeming a code or refresh token at this moment:
// the single-use wrappers (single-use-grants.ts) run oidc-provider's own
// grant handlers inside this scope, and the adapter reads it, so the
// decision "leave `consumed` out, the consume statement decides" is made by
// the wrappers alone and holds exactly while they run. Like oidc-provider's
// own request context, it is an AsyncLocalStorage: it follows the handler's
// awaits and no other request's.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { KoaContextWithOIDC } from 'oidc-provider';

const redemptions = new AsyncLocalStorage<KoaContextWithOIDC>();

/** Runs `handler` as the redemption of the code or refresh token `ctx` presents. */
export function redeeming(ctx: KoaContextWithOIDC, handler: () => Promise<void>): Promise<void> {
  return redemptions.run(ctx, handler);
}

/** The token request whose redemption is running here, if any. */
export function currentRedemption(): KoaContextWithOIDC | undefined {
  return redemptions.getStore();
}
