// Audit events and log lines of federated sign-ins: a sign-in through an
// upstream, an upstream identity linked to an account, and every way a round
// trip failed (which provider, and why as a stable reason; never a token, a
// code or a secret). The upstream's own subject is not recorded: the
// provider's slug and the account id say enough, and the link table holds it.
import type { Context } from 'koa';
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { AuditService } from '../audit/audit-service.ts';

export type FederationFailureReason =
  | 'throttled'
  | 'upstream_unreachable'
  | 'upstream_misconfigured'
  | 'upstream_error'
  | 'upstream_invalid_response'
  | 'state_missing'
  | 'state_mismatch'
  | 'replayed'
  | 'email_unverified'
  | 'email_missing'
  | 'signup_closed'
  | 'account_disabled'
  | 'already_linked'
  | 'link_needs_password';

export interface FederationEventContext {
  /** The provider's slug. */
  readonly provider: string;
  readonly clientId: string | null;
}

export function createFederationAudit({ events }: { readonly events: Pick<AuditService, 'record'> }) {
  const common = (ctx: Context, at: FederationEventContext): Pick<AuditEventInput, 'ip' | 'clientId' | 'requestId'> => ({
    ip: ctx.ip,
    clientId: at.clientId,
    ...(typeof ctx.state.requestId === 'string' && { requestId: ctx.state.requestId }),
  });

  // The upstream's error code arrives in a URL anyone can craft: printable ASCII, bounded, before it is logged or stored.
  const errorCode = (raw: string | undefined) => raw?.replace(/[^\x21-\x7e]/g, '').slice(0, 64) || undefined;

  return {
    signedIn(ctx: Context, at: FederationEventContext, accountId: string): void {
      events.record({ type: 'federation.signed_in', ...common(ctx, at), actor: accountId, subject: accountId, details: { provider: at.provider } });
    },

    linked(ctx: Context, at: FederationEventContext, accountId: string, how: 'password' | 'signup'): void {
      events.record({ type: 'federation.linked', ...common(ctx, at), actor: accountId, subject: accountId, details: { provider: at.provider, proof: how } });
    },

    /** Logged (warn for the upstream's failures, info for the person's) and audited. */
    failed(ctx: Context, at: FederationEventContext, reason: FederationFailureReason, extra: { readonly accountId?: string; readonly upstreamError?: string; readonly why?: string } = {}): void {
      const upstream = reason.startsWith('upstream_');
      const upstreamError = errorCode(extra.upstreamError);
      const line = { provider: at.provider, reason, ...(upstreamError && { upstreamError }), ...(extra.why && { why: extra.why }) };
      if (upstream) ctx.state.log?.warn(line, 'federated sign-in failed at the upstream');
      else ctx.state.log?.info(line, 'federated sign-in refused');
      events.record({
        type: 'federation.failed',
        ...common(ctx, at),
        subject: extra.accountId ?? null,
        details: { provider: at.provider, reason, ...(upstreamError && { upstreamError }) },
      });
    },
  };
}

export type FederationAudit = ReturnType<typeof createFederationAudit>;
