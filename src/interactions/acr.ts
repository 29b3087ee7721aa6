// The authentication context class (acr) a sign-in reached, from the methods
// it used (amr, RFC 8176): the MFA level when the methods include 'mfa',
// the password level otherwise. One function, so the login step, the
// second-factor step and the passkey step all name the same levels.
export const ACR_PASSWORD = 'urn:latchkey:acr:password';
export const ACR_MFA = 'urn:latchkey:acr:mfa';
/** What discovery advertises as acr_values_supported, weakest first. */
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA] as const;

export function acrFor(amr: readonly string[]): string {
  return amr.includes('mfa') ? ACR_MFA : ACR_PASSWORD;
}
