// oidc-provider's loadExistingGrant hook: its default (the grant the consent
// step just saved, else the one this browser's session holds for the
// client), plus standing grants for the two built-in clients, which never
// show a consent page. Signing in to one's own account page, or to
// Latchkey's own admin console, is not sharing anything with a third party.
// - the account client (account-client.ts): `openid`; never saved, and
//   response_type=none issues nothing under it.
// - the admin console (admin-client.ts): `openid` and the
//   admin scopes the person's role allows (role-scopes.ts), saved, since
//   its code is redeemed for tokens under it. Its admin scopes are set
//   again at each sign-in, so a role changed since the last one is what counts.
import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from './account-client.ts';
import { ADMIN_CLIENT_ID } from './admin-client.ts';
import { ADMIN_SCOPES, type RoleScopes } from './role-scopes.ts';

export function createLoadExistingGrant(roleScopes: Pick<RoleScopes, 'identifier' | 'forPerson'>) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
    const { client, session, account, provider } = ctx.oidc;
    if (client?.clientId === ACCOUNT_CLIENT_ID && account) {
      const grant = new provider.Grant({ accountId: account.accountId, clientId: ACCOUNT_CLIENT_ID });
      grant.addOIDCScope('openid');
      return grant;
    }
    if (client?.clientId === ADMIN_CLIENT_ID && account) {
      // This browser's grant when it has one (so signing in again does not add a grant per sign-in), else a new one.
      const previousId = session?.grantIdFor(ADMIN_CLIENT_ID);
      const previous = previousId ? await provider.Grant.find(previousId) : undefined;
      const grant = previous?.accountId === account.accountId && previous.clientId === ADMIN_CLIENT_ID ? previous : new provider.Grant({ accountId: account.accountId, clientId: ADMIN_CLIENT_ID });
      grant.addOIDCScope('openid');
      // Exactly what the role allows now: a scope it no longer allows goes.
      if (grant.resources) delete grant.resources[roleScopes.identifier];
      const scopes = await roleScopes.forPerson(ctx, roleScopes.identifier, ADMIN_SCOPES);
      if (scopes.length) grant.addResourceScope(roleScopes.identifier, scopes.join(' '));
      await grant.save();
      return grant;
    }
    const grantId = ctx.oidc.result?.consent?.grantId ?? (client && session?.grantIdFor(client.clientId));
    return grantId ? provider.Grant.find(grantId) : undefined;
  };
}
