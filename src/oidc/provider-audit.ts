// Turns oidc-provider's events into audit events: token.issued (grant.success),
// refresh-token and authorization-code reuse (grant.error with the
// GrantReuseDetected that single-use-grants.ts throws, also for the
// loser of a parallel redemption), and logout (end_session.success). Only identifiers are
// read from the request context: never ctx.body, params other than
// grant_type, or a token's jti (for opaque tokens, the jti is the token).
// Errors are told apart by class (GrantReuseDetected), never by their text.
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { AuditDetailValue, AuditEventInput } from '../audit/audit-event.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { GrantReuseDetected } from './grant-reuse-detected.ts';

/** The fields of an issued token or code that are identifiers, not credentials. */
interface TokenEntity {
  readonly scope?: string;
  readonly aud?: string | string[];
  readonly grantId?: string;
  readonly accountId?: string;
}

export function auditProviderEvents(provider: Provider, audit: Pick<AuditService, 'record'>): void {
  // A reused code is never loaded as an entity; the grant it revoked is only
  // known from grant.revoked, emitted on the same request just before grant.error.
  const revokedOnRequest = new WeakMap<object, string>();
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    if (ctx.oidc?.route === 'token') revokedOnRequest.set(ctx, grantId);
  });

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = String(ctx.oidc.params?.grant_type ?? '');
    const clientId = ctx.oidc.client?.clientId ?? null;
    const entities = ctx.oidc.entities as Record<string, TokenEntity | undefined>;
    const token = entities.AccessToken ?? entities.ClientCredentials;
    const accountId = ctx.oidc.account?.accountId;
    audit.record({
      type: 'token.issued',
      ...fromRequest(ctx),
      actor: clientId,
      // A client_credentials token is about the client itself (its `sub`).
      subject: accountId ?? (grantType === 'client_credentials' ? clientId : null),
      clientId,
      details: compact({
        grantType,
        scope: token?.scope,
        resource: audience(token?.aud),
        grantId: token?.grantId,
      }),
    });
  });

  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: unknown) => {
    if (!(error instanceof GrantReuseDetected)) return;
    const { type, grantId, accountId } = error.reuse;
    const clientId = ctx.oidc.client?.clientId ?? null;
    audit.record({
      type,
      ...fromRequest(ctx),
      actor: clientId,
      // Unknown for a reused code: its account is not read on the way to the reuse.
      subject: ctx.oidc.account?.accountId ?? accountId ?? null,
      clientId,
      details: compact({ grantId: grantId ?? revokedOnRequest.get(ctx), grantRevoked: revokedOnRequest.has(ctx) }),
    });
  });

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const accountId = ctx.oidc.session?.accountId;
    // Signing out a browser that was not signed in changes nothing worth auditing.
    if (!accountId) return;
    audit.record({
      type: 'logout',
      ...fromRequest(ctx),
      actor: accountId,
      subject: accountId,
      clientId: ctx.oidc.client?.clientId ?? null,
    });
  });
}

function fromRequest(ctx: KoaContextWithOIDC): Pick<AuditEventInput, 'ip' | 'requestId'> {
  const requestId = (ctx.state as { requestId?: unknown }).requestId;
  return { ip: ctx.ip, ...(typeof requestId === 'string' && { requestId }) };
}

function audience(aud: string | string[] | undefined): string | string[] | undefined {
  if (aud === undefined) return undefined;
  return Array.isArray(aud) ? aud : [aud];
}

function compact(details: Record<string, AuditDetailValue | undefined>): Record<string, AuditDetailValue> {
  return Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined && value !== '')) as Record<string, AuditDetailValue>;
}
