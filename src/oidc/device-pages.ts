// The pages of the device flow's verification URI (/device, RFC 8628 §3.3),
// as oidc-provider's features.deviceFlow asks for them: where the person types
// the code their device shows, the confirmation that it is the code on their
// own device (§5.4: also when the code came pre-filled from
// verification_uri_complete or its QR code), the "return to your device" page
// once sign-in and consent are done, the page for a cancelled request, and a
// readable answer for a wrong, expired or used code. oidc-provider runs the
// flow (lookup, xsrf check, the interaction); these only render, in Latchkey's
// layout and the browser's language.
import type { Context } from 'koa';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Views } from '../http/views.ts';
import { deviceCodeProblem, deviceFormXsrf, type DeviceCodeProblem } from './provider-internals.ts';

type DeviceFlow = NonNullable<NonNullable<Configuration['features']>['deviceFlow']>;

/** Eight characters of base-20 (consonants without look-alikes) in two groups: 20^8 ≈ 2.6 × 10^10 codes. */
export const USER_CODE_CHARSET = 'base-20';
export const USER_CODE_MASK = '****-****';

const ERROR_MESSAGES: Readonly<Record<Exclude<DeviceCodeProblem, 'aborted'>, string>> = {
  wrong_code: 'device.error.wrongCode',
  expired: 'device.error.expired',
  used: 'device.error.used',
  no_code: 'device.error.noCode',
};

export function createDevicePages(views: Views): Pick<DeviceFlow, 'userCodeInputSource' | 'userCodeConfirmSource' | 'successSource'> {
  function render(ctx: Context, view: string, data: Parameters<Views['render']>[1], status: number): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render(view, data, views.localeFor(ctx));
  }

  return {
    async userCodeInputSource(ctx, form, _out, err) {
      const problem = err === undefined ? undefined : deviceCodeProblem(err);
      if (problem === 'aborted') {
        render(ctx, 'device-done', { title: 'device.denied.title', message: 'device.denied.message', detail: 'device.denied.detail' }, 200);
        return;
      }
      // A wrong code is the person's to fix (400, the form again); anything else keeps oidc-provider's status.
      const status = problem ? 400 : err ? Math.max(ctx.status, 400) : 200;
      const typed = (err as { userCode?: unknown } | undefined)?.userCode;
      render(
        ctx,
        'device-code',
        {
          title: 'device.enter.title',
          action: ctx.oidc.urlFor('code_verification'),
          xsrf: deviceFormXsrf(form),
          userCode: typeof typed === 'string' ? typed : '',
          placeholder: USER_CODE_MASK.replaceAll('*', 'X'),
          error: problem ? ERROR_MESSAGES[problem] : err ? 'device.error.failed' : undefined,
        },
        status,
      );
    },

    async userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
      render(
        ctx,
        'device-confirm',
        {
          title: 'device.confirm.title',
          action: ctx.oidc.urlFor('code_verification'),
          xsrf: deviceFormXsrf(form),
          clientName: client.clientName ?? client.clientId,
          userCode,
        },
        200,
      );
    },

    async successSource(ctx: KoaContextWithOIDC) {
      render(ctx, 'device-done', { title: 'device.done.title', message: 'device.done.message', detail: 'device.done.detail' }, 200);
    },
  };
}
