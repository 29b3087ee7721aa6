// How an authenticator-app enrolment is shown to a person, wherever it is
// shown (the account page, or inside a sign-in that needs a second factor):
// the otpauth:// URI as a QR code and the secret as text to type.
import QRCode from 'qrcode';
import type { Enrolment } from './mfa-service.ts';

export interface EnrolmentView {
  /** The secret in groups of four, as apps accept it typed. */
  readonly secret: string;
  /**
   * The QR code as an inline SVG element, drawn here (no CDN, no script):
   * the page CSP (img-src 'self') stays as it is, since inline SVG markup is
   * not an image load, and the SVG holds nothing but paths.
   */
  readonly qrSvg: string;
}

export async function enrolmentView(enrolment: Enrolment): Promise<EnrolmentView> {
  return {
    secret: enrolment.secret.match(/.{1,4}/g)!.join(' '),
    qrSvg: await QRCode.toString(enrolment.uri, { type: 'svg', margin: 1, width: 200, errorCorrectionLevel: 'M' }),
  };
}
