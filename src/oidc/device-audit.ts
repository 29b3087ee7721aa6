// Audit events of the device flow's verification page (/device): a device
// approved (the person signed in and consented; the device gets tokens on its
// next poll) or denied (cancelled on the confirmation page, at sign-in or at
// consent). Read through oidc-provider's documented `provider.use` hook from
// the DeviceCode it loaded on the request, after it has answered. Only
// identifiers are recorded: never the user code or the device code.
import type { Context, Next } from 'koa';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { underPagePaths } from '../http/page-paths.ts';
import type { AuditService } from '../audit/audit-service.ts';

/**
 * A person who cancels at sign-in or consent comes back to /device/:uid with
 * the refusal, which oidc-provider records on the device code it loads by
 * itself, without naming it on the request: read again, by the interaction's
 * own reference to it (one lookup, on this path only).
 */
async function deniedAtSignIn(provider: Provider, oidc: Partial<KoaContextWithOIDC['oidc']>): Promise<DeviceCodeEntity | undefined> {
  const deviceCode = (oidc.entities?.Interaction as { deviceCode?: unknown } | undefined)?.deviceCode;
  if (oidc.route !== 'device_resume' || typeof deviceCode !== 'string') return undefined;
  const code = (await provider.DeviceCode.find(deviceCode, { ignoreExpiration: true })) as DeviceCodeEntity | undefined;
  return code?.error === 'access_denied' ? code : undefined;
}

const DEVICE_ROUTES = new Set(['code_verification', 'device_resume']);

interface DeviceCodeEntity {
  readonly clientId?: string;
  readonly accountId?: string;
  readonly grantId?: string;
  readonly scope?: string;
  readonly error?: string;
}

export function auditDeviceApprovals(provider: Provider, audit: Pick<AuditService, 'record'>): void {
  // /device and /device/:uid only; every other request passes on without an await of this layer's own.
  const isDevicePage = underPagePaths([provider.pathFor('code_verification')]);
  const auditOutcome = async (ctx: Context, next: Next) => {
    await next();
    const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
    if (!oidc?.route || !DEVICE_ROUTES.has(oidc.route)) return;
    const code = (oidc.entities?.DeviceCode as DeviceCodeEntity | undefined) ?? (await deniedAtSignIn(provider, oidc));
    if (!code) return;
    const requestId = (ctx.state as { requestId?: unknown }).requestId;
    const common = { ip: ctx.ip, clientId: code.clientId ?? null, ...(typeof requestId === 'string' && { requestId }) };
    if (code.error === 'access_denied') {
      const accountId = oidc.session?.accountId ?? null;
      audit.record({ type: 'device.denied', ...common, actor: accountId, subject: accountId });
    } else if (code.accountId && !code.error) {
      audit.record({
        type: 'device.approved',
        ...common,
        actor: code.accountId,
        subject: code.accountId,
        details: { ...(code.scope && { scope: code.scope.split(' ') }), ...(code.grantId && { grantId: code.grantId }) },
      });
    }
  };
  provider.use((ctx, next) => (isDevicePage(ctx.path) ? auditOutcome(ctx, next) : next()));
}
