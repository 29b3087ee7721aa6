// The login result a finished sign-in hands oidc-provider: the account, the
// methods used (amr), the level they reach (acr) and the sign-in's time. For
// a sign-in through an upstream identity provider, that time is also the key
// under which the provider is written down first (federation/federated-sign-ins.ts),
// so the ID tokens made from this sign-in can name it (idp).
import type { InteractionResults } from 'oidc-provider';
import type { FederatedSignIns, SignInProvider } from '../federation/federated-sign-ins.ts';
import { acrFor } from './acr.ts';

export type LoginResults = (accountId: string, amr: readonly string[], provider?: SignInProvider) => Promise<InteractionResults>;

export function createLoginResults(signIns?: Pick<FederatedSignIns, 'record'>): LoginResults {
  return async (accountId, amr, provider) => {
    const ts = Math.floor(Date.now() / 1000);
    if (provider) {
      if (!signIns) throw new Error('a federated sign-in needs the federated sign-in records');
      await signIns.record(accountId, ts, provider);
    }
    return { login: { accountId, amr: [...amr], acr: acrFor(amr), remember: true, ts } };
  };
}
