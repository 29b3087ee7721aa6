// The device's side of the device flow at the token endpoint (RFC 8628
// §3.4–3.5): the device authorization response states the polling
// `interval` (5 s), and a device polling one pending code faster than that
// gets `slow_down` instead of `authorization_pending`. oidc-provider 9 has
// the error class but never raises it, so the built-in device_code grant is
// registered again, wrapped (provider-internals.ts builtInGrant). The pace is
// kept in the Throttle table (throttle-policy.ts device_poll), keyed by a
// keyed digest of the device code, so every instance sees every poll; only
// a poll answered `authorization_pending` writes, so unknown or expired codes
// leave nothing behind.
//
// The device code is redeemed once, decided by the database, like an
// authorization code (single-use-grants.ts): run as a redemption
// (redemption-scope.ts), oidc-provider's own earlier check of `consumed` never
// fires, and the conditional consume alone says who won. Of parallel polls
// after approval exactly one gets tokens; a device code presented again (a
// parallel loser, or a copy used later) is invalid_grant and revokes the
// grant, as oidc-provider itself does for a consumed device code, and is
// audited as device_code.reuse_detected. Without this, a loser that read the
// code after the winner's consume revoked the grant before the winner had
// read it, and nobody got tokens.
import type { Context, Next } from 'koa';
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { ThrottleKeys } from '../throttle/throttle-keys.ts';
import type { ThrottleScope } from '../throttle/throttle-policy.ts';
import type { ThrottleService } from '../throttle/throttle-service.ts';
import { ArtifactConsumedError } from '../errors.ts';
import { GrantReuseDetected } from './grant-reuse-detected.ts';
import { builtInGrant, revokeGrant } from './provider-internals.ts';
import { redeeming } from './redemption-scope.ts';

/** Seconds between polls, as the device authorization response states it (RFC 8628's default). */
export const DEVICE_POLL_INTERVAL = 5;

export interface DevicePollingDeps {
  readonly throttle: Pick<ThrottleService, 'check' | 'fail'>;
  readonly keys: Pick<ThrottleKeys, 'devicePoll'>;
  /** Called for each poll answered slow_down. */
  readonly onThrottled?: (scope: ThrottleScope) => void;
}

export function paceDevicePolling(provider: Provider, deps: DevicePollingDeps): void {
  const { handler, grantType, parameters, duplicates } = builtInGrant(provider, 'device_code');
  provider.registerGrantType(
    grantType,
    async (ctx) => {
      const deviceCode = ctx.oidc.params?.device_code;
      // A missing code is the built-in's to refuse (invalid_request).
      if (typeof deviceCode !== 'string' || deviceCode === '') return handler(ctx);
      const key = deps.keys.devicePoll(deviceCode);
      if (!(await deps.throttle.check([key])).allowed) {
        deps.onThrottled?.('device_poll');
        throw new errors.SlowDown();
      }
      try {
        await redeeming(ctx, () => handler(ctx));
      } catch (error) {
        if (error instanceof errors.AuthorizationPending) await deps.throttle.fail([key]);
        if (error instanceof ArtifactConsumedError) await answerReuse(ctx, error);
        throw error;
      }
    },
    [...parameters],
    duplicates,
  );

  const path = provider.pathFor('device_authorization');
  const statesInterval = async (ctx: Context, next: Next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.status === 200 && body && typeof body.device_code === 'string') ctx.body = { ...body, interval: DEVICE_POLL_INTERVAL };
  };
  // Not async for every other request: a layer of its own would cost each one an await.
  provider.use((ctx, next) => (ctx.path === path ? statesInterval(ctx, next) : next()));
}

/** A device code consumed before: its grant revoked (as oidc-provider's own reuse check does), invalid_grant. */
async function answerReuse(ctx: KoaContextWithOIDC, consumed: ArtifactConsumedError): Promise<never> {
  const grantId = consumed.row?.grantId ?? undefined;
  if (grantId) await revokeGrant(ctx, grantId);
  throw new GrantReuseDetected({ type: 'device_code.reuse_detected', grantId, accountId: undefined });
}
