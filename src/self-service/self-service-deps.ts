// What the sign-up and email-verification pages need from the rest of
// Latchkey, in one type: the composition root (latchkey.ts) fills it once
// and hands it to the interaction routes and to /email/verify.
import type { AccountService } from '../accounts/account-service.ts';
import type { AccountTokens } from '../accounts/account-tokens.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { SelfServiceConfig } from '../config/config.ts';
import type { MailService } from '../mail/mail-service.ts';
import type { AccountLimits } from '../throttle/account-limits.ts';

export interface SelfServiceDeps {
  readonly accounts: Pick<AccountService, 'create' | 'findById' | 'findByEmail' | 'markEmailVerified'>;
  readonly accountTokens: Pick<AccountTokens, 'issue' | 'use' | 'lookUp' | 'issuedFrom'>;
  readonly limits: AccountLimits;
  readonly mail: Pick<MailService, 'enqueue'>;
  readonly audit: Pick<AuditService, 'record'>;
  /** LATCHKEY_SIGNUP and LATCHKEY_PASSWORD_RESET. */
  readonly config: SelfServiceConfig;
  /** Mailed links are absolute, on the issuer's origin. */
  readonly issuer: string;
}

/** Whole minutes for a "try again in" message, rounded up. */
export const minutesFrom = (retryAfterSeconds: number) => Math.max(1, Math.ceil(retryAfterSeconds / 60));
