// oidc-provider's loadExistingGrant hook: its default (the grant the consent
// step just saved, else the one this browser's session holds for the
// client), plus a standing grant of `openid` for the built-in account client
// (account-client.ts). Signing in to one's own account page is not sharing
// anything with a third party, so there is nothing to consent to; the grant
// is never saved, and response_type=none issues nothing under it.
import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from './account-client.ts';

export async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { client, session, account, provider } = ctx.oidc;
  if (client?.clientId === ACCOUNT_CLIENT_ID && account) {
    const grant = new provider.Grant({ accountId: account.accountId, clientId: ACCOUNT_CLIENT_ID });
    grant.addOIDCScope('openid');
    return grant;
  }
  const grantId = ctx.oidc.result?.consent?.grantId ?? (client && session?.grantIdFor(client.clientId));
  return grantId ? provider.Grant.find(grantId) : undefined;
}
