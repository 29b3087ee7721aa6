// The acr an interaction result carries, from its amr (RFC 8176): the MFA
// level when the methods used add up to more than one factor, else the
// password level. (Engineer A's module on the i18-totp branch; copied here
// with the same path and content so the passkey sign-in can use it.)
export function acrFor(amr: readonly string[]): string {
  return amr.includes('mfa') ? 'urn:latchkey:acr:mfa' : 'urn:latchkey:acr:password';
}
