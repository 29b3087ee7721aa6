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
import type { Context, Next } from 'koa';
import { errors, type Provider } from 'oidc-provider';
import type { ThrottleKeys } from '../throttle/throttle-keys.ts';
import type { ThrottleScope } from '../throttle/throttle-policy.ts';
import type { ThrottleService } from '../throttle/throttle-service.ts';
import { builtInGrant } from './provider-internals.ts';

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
        await handler(ctx);
      } catch (error) {
        if (error instanceof errors.AuthorizationPending) await deps.throttle.fail([key]);
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
