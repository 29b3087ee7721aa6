// The oidc-provider internals Latchkey cannot do without, fenced in this one
// module: everything else uses only oidc-provider's public API. Each export
// states the contract it relies on; test/integration/provider-contract.test.ts
// checks each against the installed version, so an upgrade that breaks one
// fails there instead of in production.
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import * as grants from 'oidc-provider/lib/actions/grants/index.js';
import * as grantHelpers from 'oidc-provider/lib/helpers/grants.js';
import revoke from 'oidc-provider/lib/helpers/revoke.js';
import { AbortedError, AlreadyUsedError, ExpiredError, NoCodeError, NotFoundError } from 'oidc-provider/lib/helpers/re_render_errors.js';

export type GrantHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

/**
 * Contract: lib/actions/grants/index.js exports each built-in grant as
 * `{ handler(provider, helpers, ctx), parameters }`, and the helpers it is
 * called with are lib/helpers/grants.js's exports, each bound to the provider
 * (lib/helpers/initialize_app.js). The parameters returned are the ones
 * oidc-provider registers for it with resource indicators on and rich
 * authorization requests off, as Latchkey configures it (provider.ts).
 */
export function builtInGrant(provider: Provider, grantType: 'authorization_code' | 'refresh_token' | 'device_code') {
  const grant = grants[grantType];
  const helpers = Object.fromEntries(Object.entries(grantHelpers).map(([name, helper]) => [name, (helper as (...args: unknown[]) => unknown).bind(undefined, provider)]));
  const handler: GrantHandler = (ctx) => grant.handler(provider, helpers, ctx);
  // `grantType` is the name it is registered under (the device grant's is its URN).
  return { handler, grantType: grant.grantType, parameters: new Set([...grant.parameters, 'resource']), duplicates: ['resource'] };
}

/**
 * Contract: the device flow's page helpers (features.deviceFlow
 * userCodeInputSource and userCodeConfirmSource) get their form as markup
 * from lib/helpers/user_code_form.js, whose one hidden `xsrf` input carries
 * the token lib/shared/xsrf.js checks on the POST to /device.
 *
 * Why internal: the token is passed only inside that markup, and Latchkey
 * renders its own form (views/device-code.eta) in its own layout, so it
 * reads the token out of it. Hex, as lib/shared/xsrf.js makes it; anything
 * else is refused (and the page then shows a form that cannot succeed).
 */
export function deviceFormXsrf(form: string): string {
  const match = /<input type="hidden" name="xsrf" value="([0-9a-f]{16,128})"\/>/.exec(form);
  if (!match) throw new Error('oidc-provider device form without the expected xsrf input');
  return match[1]!;
}

/**
 * Contract: lib/helpers/re_render_errors.js's classes are what the device
 * flow's userCodeInputSource gets as `err` for a code not found, expired or
 * used already, no code at all, and a person who cancelled (on the
 * confirmation page, or at sign-in or consent). Told apart by class.
 */
export type DeviceCodeProblem = 'wrong_code' | 'expired' | 'used' | 'no_code' | 'aborted';

export function deviceCodeProblem(error: unknown): DeviceCodeProblem | undefined {
  if (error instanceof NotFoundError) return 'wrong_code';
  if (error instanceof ExpiredError) return 'expired';
  if (error instanceof AlreadyUsedError) return 'used';
  if (error instanceof NoCodeError) return 'no_code';
  if (error instanceof AbortedError) return 'aborted';
  return undefined;
}

/**
 * Contract: oidc-provider compares a presented client secret in one place,
 * `await ctx.oidc.client.compareClientSecret(presented)` in
 * lib/shared/client_auth.js, for client_secret_basic and client_secret_post
 * alike, with the secret as presented and `this.clientSecret` as the
 * metadata's client_secret; a falsy answer is invalid_client.
 *
 * Why internal: Latchkey stores a client secret only as its SHA-256 digest
 * (clients/client-secret.ts) and hands oidc-provider that digest as
 * client_secret; no configuration option compares secrets (the maintainer's
 * answer to hashed secrets, panva/node-oidc-provider#631, is this method).
 * The consequence: secret-derived symmetric keys (HS256 client_secret_jwt,
 * symmetric ID token encryption) cannot work, and provider.ts enables none.
 */
export function compareClientSecretsWith(provider: Provider, matches: (presented: string, stored: string) => boolean): void {
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: unknown }, presented: unknown) {
    return typeof this.clientSecret === 'string' && typeof presented === 'string' && matches(presented, this.clientSecret);
  };
}

/**
 * Contract: lib/helpers/revoke.js's default export revokes a grant exactly as
 * oidc-provider's own reuse checks do (lib/actions/grants/refresh_token.js,
 * lib/helpers/grant_source.js): every token and code issued under it, and
 * the Grant itself as revokeGrantPolicy says, then emits `grant.revoked`.
 */
export function revokeGrant(ctx: KoaContextWithOIDC, grantId: string): Promise<void> {
  return revoke(ctx, grantId);
}
