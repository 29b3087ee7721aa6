// Audit events of the interaction pages: sign-in succeeded or failed (with
// why, as a category), consent granted or denied. The steps call these after
// deciding; a failure to audit is logged and never changes their answer.
import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { createLoginIdentifierDigest } from '../audit/login-identifier.ts';

export type LoginFailureReason = 'unknown_account' | 'wrong_password' | 'account_disabled' | 'throttled';

export interface InteractionAuditDeps {
  readonly audit: Pick<AuditService, 'record'>;
  readonly accounts: Pick<AccountService, 'findByEmail'>;
  /** Keys the digest of unknown emails (audit/login-identifier.ts); never stored or logged. */
  readonly masterSecret: string;
}

export interface GrantedConsent {
  readonly scopes: readonly string[];
  readonly claims: readonly string[];
  readonly resourceScopes: Readonly<Record<string, readonly string[]>>;
  readonly grantId: string;
}

export function createInteractionAudit({ audit, accounts, masterSecret }: InteractionAuditDeps) {
  const digest = createLoginIdentifierDigest(masterSecret);

  const fromRequest = (ctx: Context, interaction: Interaction): Pick<AuditEventInput, 'ip' | 'requestId' | 'clientId'> => ({
    ip: ctx.ip,
    clientId: String(interaction.params.client_id ?? '') || null,
    ...(typeof ctx.state.requestId === 'string' && { requestId: ctx.state.requestId }),
  });

  return {
    /** `method` is how the person first proved who they are: a password (whatever second factor followed), a passkey alone, or an upstream identity provider (fed). */
    loginSucceeded(ctx: Context, interaction: Interaction, accountId: string, method: 'pwd' | 'passkey' | 'fed' = 'pwd'): void {
      audit.record({ type: 'login.success', ...fromRequest(ctx, interaction), actor: accountId, subject: accountId, details: { method } });
    },

    /**
     * Records why a sign-in failed. The page says the same thing whatever the
     * reason; the category is for operators. Without `reason`, it is found
     * from the email (one indexed lookup, the same for every failure).
     */
    async loginFailed(ctx: Context, interaction: Interaction, email: string, reason?: LoginFailureReason): Promise<void> {
      try {
        const account = await accounts.findByEmail(email);
        const category = reason ?? (!account ? 'unknown_account' : account.disabled ? 'account_disabled' : 'wrong_password');
        audit.record({
          type: 'login.failure',
          ...fromRequest(ctx, interaction),
          subject: account?.id ?? null,
          details: { reason: category, ...(!account && email.trim() && { emailDigest: digest(email) }) },
        });
      } catch (error) {
        ctx.state.log?.warn({ err: error }, 'could not audit a failed sign-in');
      }
    },

    consentGranted(ctx: Context, interaction: Interaction, consent: GrantedConsent): void {
      const accountId = interaction.session?.accountId ?? null;
      const resourceScopes = Object.values(consent.resourceScopes).flat();
      audit.record({
        type: 'consent.granted',
        ...fromRequest(ctx, interaction),
        actor: accountId,
        subject: accountId,
        details: {
          scopes: [...new Set([...consent.scopes, ...resourceScopes])],
          ...(consent.claims.length && { claims: [...consent.claims] }),
          ...(Object.keys(consent.resourceScopes).length && { resources: Object.keys(consent.resourceScopes) }),
          grantId: consent.grantId,
        },
      });
    },

    consentDenied(ctx: Context, interaction: Interaction): void {
      const accountId = interaction.session?.accountId ?? null;
      const scope = interaction.params.scope;
      audit.record({
        type: 'consent.denied',
        ...fromRequest(ctx, interaction),
        actor: accountId,
        subject: accountId,
        details: { scopes: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [] },
      });
    },
  };
}

export type InteractionAudit = ReturnType<typeof createInteractionAudit>;
