// GET /device/qr?user_code=XXXX-XXXX: the device flow's
// verification_uri_complete as an SVG QR code, for a device that shows an
// image rather than drawing a QR code itself. It encodes only
// `${issuer}/device?user_code=…` with a code of the configured shape
// (oidc/device-pages.ts: base-20, ****-****), never arbitrary text, and it
// does not look the code up, so it tells nobody whether a code is live. The
// person who scans it still confirms the code on the page (RFC 8628 §5.4).
import type { Middleware } from 'koa';
import QRCode from 'qrcode';

/** oidc-provider's base-20 alphabet (lib/helpers/user_codes.js): consonants without look-alikes. */
const BASE_20 = /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/;

/** The code as typed (any case, spaces, dashes), normalised as oidc-provider does, in the mask's shape; undefined when it cannot be a user code. */
export function canonicalUserCode(typed: unknown): string | undefined {
  if (typeof typed !== 'string' || typed.length > 64) return undefined;
  const normalised = typed.toUpperCase().replace(/\W/g, '');
  return BASE_20.test(normalised) ? `${normalised.slice(0, 4)}-${normalised.slice(4)}` : undefined;
}

export function deviceQrCode({ issuer, verificationPath }: { issuer: string; verificationPath: string }): Middleware {
  const qrPath = `${verificationPath}/qr`;
  return async (ctx, next) => {
    if (ctx.path !== qrPath || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const userCode = canonicalUserCode(ctx.query.user_code);
    if (userCode === undefined) {
      ctx.status = 400;
      ctx.type = 'application/json';
      ctx.body = { error: 'invalid_request', error_description: 'user_code must be a user code of the form XXXX-XXXX' };
      return;
    }
    const uri = `${issuer}${verificationPath}?${new URLSearchParams({ user_code: userCode })}`;
    ctx.type = 'image/svg+xml';
    // Codes live for minutes and name one sign-in: nothing to cache. The SVG is paths only; no script may run in it.
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', "default-src 'none'");
    ctx.body = await QRCode.toString(uri, { type: 'svg', margin: 2, width: 256, errorCorrectionLevel: 'M' });
  };
}
