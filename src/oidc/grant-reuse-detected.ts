// The invalid_grant answered to a reused authorization code, refresh token
// (single-use-grants.ts) or device code (device-polling.ts): oidc-provider's own error class, rendered as it
// renders it, marked so the audit hook records the reuse by its class, not by
// matching the error's wording.
import { errors } from 'oidc-provider';

export type ReuseType = 'refresh_token.reuse_detected' | 'authorization_code.reuse_detected' | 'device_code.reuse_detected';

// oidc-provider's own wording for each reuse.
const WORDING: Readonly<Record<ReuseType, string>> = {
  'refresh_token.reuse_detected': 'refresh token already used',
  'authorization_code.reuse_detected': 'authorization code already consumed',
  'device_code.reuse_detected': 'device code already consumed',
};

export class GrantReuseDetected extends errors.InvalidGrant {
  constructor(readonly reuse: { readonly type: ReuseType; readonly grantId: string | undefined; readonly accountId: string | undefined }) {
    super(WORDING[reuse.type]);
  }
}
