// Test helpers for two-step sign-in: enrolling an authenticator app through
// the account page as a person would, reading the secret from the page's
// text (never from the database), and computing codes with otpauth.
import { Secret, TOTP } from 'otpauth';
import { decodeHtml, expectPage, heading, parseForms, type Step, type UserAgent } from './rp.ts';

export const secretOn = (page: Step) => decodeHtml(/<code id="totp-secret">([^<]+)<\/code>/.exec(expectPage(page).html)![1]!).replace(/\s+/g, '');
/** The code an app shows `steps` 30-second steps from now. */
export const codeAt = (secret: string, steps = 0) => new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: Date.now() + steps * 30_000 });
export const recoveryCodesOn = (page: Step) => [...expectPage(page).html.matchAll(/<li><code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})<\/code><\/li>/g)].map((match) => match[1]!);

export function postForm(ua: UserAgent, page: Step, action: string, values: Record<string, string> = {}): Promise<Step> {
  const form = parseForms(expectPage(page).html).find((candidate) => candidate.action === action);
  if (!form) throw new Error(`no form for ${action}`);
  return ua.post(action, new URLSearchParams({ ...form.fields, ...values }));
}

/** Signs in to /account with the password (no second factor yet) and turns on an app, confirming with the code `confirmStep` steps from now. */
export async function enrol(ua: UserAgent, email: string, password: string, confirmStep = 0) {
  const login = expectPage(await ua.open('/account'));
  const page = expectPage(await ua.submit(login, { email, password }));
  if (heading(page) !== 'Your account') throw new Error(`expected the account page, got ${page.html.slice(0, 300)}`);
  const started = expectPage(await postForm(ua, page, '/account/mfa/totp/start'));
  const secret = secretOn(started);
  const confirmed = expectPage(await postForm(ua, started, '/account/mfa/totp/confirm', { code: codeAt(secret, confirmStep) }));
  if (confirmed.status !== 200) throw new Error(`enrolment refused: ${confirmed.status}`);
  return { secret, recoveryCodes: recoveryCodesOn(confirmed), page: confirmed };
}
