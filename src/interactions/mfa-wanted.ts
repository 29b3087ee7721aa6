// When a sign-in must reach the MFA level: the one rule the step-up check
// (interaction-policy.ts) and the second-factor step (second-factor-step.ts)
// both apply. The request asks for it (acr_values), its client requires it
// (--require-mfa), or the server does (LATCHKEY_MFA=required) — except for
// the account page's own client: the account page is where a person enrols
// a second factor, so the server-wide rule cannot apply there, or an
// account without one could never reach it. An account that has a factor is
// asked for it at every sign-in anyway, the account page's included.
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import { ACR_MFA } from './acr.ts';

export interface MfaRequest {
  readonly clientId: string | undefined;
  /** The request's acr_values parameter, as it came. */
  readonly acrValues: unknown;
  /** The client's require_mfa metadata. */
  readonly clientRequiresMfa: boolean;
}

export function mfaWanted(request: MfaRequest, serverRequiresMfa: boolean): boolean {
  if (serverRequiresMfa && request.clientId !== ACCOUNT_CLIENT_ID) return true;
  if (typeof request.acrValues === 'string' && request.acrValues.split(' ').includes(ACR_MFA)) return true;
  return request.clientRequiresMfa;
}
