// Audit events of sign-up and email verification. Like the sign-in events
// (interactions/interaction-audit.ts) they name accounts by id and carry no
// email, token or password; recording never changes the page's answer.
import type { Context } from 'koa';
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { ThrottleScope } from '../throttle/throttle-policy.ts';

export interface SelfServiceAuditDeps {
  readonly audit: Pick<AuditService, 'record'>;
}

/** Why a verification link was mailed. */
export type VerificationCause = 'signup' | 'resend' | 'client_requires';

export function createSelfServiceAudit({ audit }: SelfServiceAuditDeps) {
  const fromRequest = (ctx: Context, clientId: string | null): Pick<AuditEventInput, 'ip' | 'requestId' | 'clientId'> => ({
    ip: ctx.ip,
    clientId,
    ...(typeof ctx.state.requestId === 'string' && { requestId: ctx.state.requestId }),
  });

  return {
    signedUp(ctx: Context, clientId: string | null, accountId: string): void {
      audit.record({ type: 'account.signup', ...fromRequest(ctx, clientId), actor: accountId, subject: accountId });
    },

    verificationSent(ctx: Context, clientId: string | null, accountId: string, cause: VerificationCause): void {
      audit.record({ type: 'account.verification_sent', ...fromRequest(ctx, clientId), actor: accountId, subject: accountId, details: { cause } });
    },

    emailVerified(ctx: Context, accountId: string): void {
      audit.record({ type: 'account.email_verified', ...fromRequest(ctx, null), actor: accountId, subject: accountId });
    },

    /** The sign-in a verification link finished (the password was given at sign-up or sign-in, in this browser). */
    signedInByLink(ctx: Context, clientId: string | null, accountId: string): void {
      audit.record({ type: 'login.success', ...fromRequest(ctx, clientId), actor: accountId, subject: accountId, details: { method: 'pwd', resumedBy: 'verify_email' } });
    },

    /** A request turned away by an abuse limit: which limit, never the address. */
    limited(ctx: Context, clientId: string | null, scope: ThrottleScope): void {
      audit.record({ type: 'account.limited', ...fromRequest(ctx, clientId), details: { scope } });
    },
  };
}

export type SelfServiceAudit = ReturnType<typeof createSelfServiceAudit>;
