// The invalid_grant answered to a reused authorization code or refresh token
// (single-use-grants.ts): oidc-provider's own error class, rendered as it
// renders it, marked so the audit hook records the reuse by its class, not by
// matching the error's wording.
import { errors } from 'oidc-provider';

export type ReuseType = 'refresh_token.reuse_detected' | 'authorization_code.reuse_detected';

export class GrantReuseDetected extends errors.InvalidGrant {
  constructor(readonly reuse: { readonly type: ReuseType; readonly grantId: string | undefined; readonly accountId: string | undefined }) {
    // oidc-provider's own wording for the two reuses.
    super(reuse.type === 'refresh_token.reuse_detected' ? 'refresh token already used' : 'authorization code already consumed');
  }
}
