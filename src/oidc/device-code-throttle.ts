// Brute-force protection for the user codes typed on /device: per client
// address (IPv6 by its /64), in the Throttle table (throttle-policy.ts
// device_code_ip), through oidc-provider's documented `provider.use` hook.
// A POST to /device that found no live code (wrong, expired, used, or a
// form without a valid xsrf token) counts as a failure; while the address is
// blocked, the POST is answered with a readable 429 page and Retry-After
// before oidc-provider looks the code up, and is not counted.
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Views } from '../http/views.ts';
import { message } from '../i18n/message.ts';
import type { ThrottleKeys } from '../throttle/throttle-keys.ts';
import type { ThrottleScope } from '../throttle/throttle-policy.ts';
import type { ThrottleService } from '../throttle/throttle-service.ts';

export interface DeviceCodeThrottleDeps {
  readonly throttle: Pick<ThrottleService, 'check' | 'fail'>;
  readonly keys: Pick<ThrottleKeys, 'deviceCodeEntry'>;
  readonly views: Views;
  /** Called for each request refused. */
  readonly onThrottled?: (scope: ThrottleScope) => void;
}

export function throttleDeviceCodeEntry(provider: Provider, deps: DeviceCodeThrottleDeps): void {
  const path = provider.pathFor('code_verification');
  const guarded: Middleware = async (ctx, next) => {
    const key = deps.keys.deviceCodeEntry(ctx.ip);
    const verdict = await deps.throttle.check([key]);
    if (!verdict.allowed) {
      deps.onThrottled?.('device_code_ip');
      ctx.status = 429;
      ctx.set('Retry-After', String(verdict.retryAfter));
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      const minutes = Math.ceil(verdict.retryAfter / 60);
      ctx.body = deps.views.render(
        'error',
        {
          title: 'device.throttled.title',
          message: message('device.throttled.message', { wait: verdict.retryAfter < 60 ? message('time.second', { count: verdict.retryAfter }) : message('time.minute', { count: minutes }) }),
          code: 'too_many_requests',
        },
        deps.views.localeFor(ctx),
      );
      return;
    }
    await next();
    // oidc-provider names the code it found (DeviceCode entity) before anything else can go wrong.
    const found = (ctx as unknown as KoaContextWithOIDC).oidc?.entities?.DeviceCode;
    if (!found) await deps.throttle.fail([key]);
  };
  // Not async for every other request: a layer of its own would cost each one an await.
  provider.use((ctx, next) => (ctx.method === 'POST' && ctx.path === path ? guarded(ctx, next) : next()));
}
