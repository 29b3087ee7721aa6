// oidc-provider's findAccount: the standard claims of an account, by scope.
// `sub` is the account's opaque id, never its email. A disabled or deleted
// account is not found, which makes its sessions and refresh tokens stop working.
//
// A sign-in through an upstream identity provider (amr `fed`) adds an `idp`
// claim to the ID tokens made from it: the provider's name, looked up by the
// account and the sign-in's auth_time (federation/federated-sign-ins.ts).
// Only then, and only for an ID token: no other sign-in or claim pays for it.
import type { FindAccount, KoaContextWithOIDC } from 'oidc-provider';

export interface AccountRecord {
  readonly id: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string | null;
  /** The picture an upstream identity provider gave (federation/); absent reads as none. */
  readonly picture?: string | null;
  readonly disabled: boolean;
  /** The admin-console role (accounts/admin-role.ts); absent reads as none. */
  readonly role?: string;
  readonly updatedAt: Date;
}

export interface AccountLookup {
  findById(id: string): Promise<AccountRecord | undefined | null>;
}

/** The name of the upstream a federated sign-in of `accountId` at `authTime` (seconds) went through. */
export type SignInProviderLookup = (accountId: string, authTime: number) => Promise<string | undefined>;

interface SignInSource {
  readonly amr?: unknown;
  readonly authTime?: unknown;
}

/**
 * How the sign-in behind this request went: the code or refresh token being
 * redeemed (it carries the session's amr and auth_time), else the session
 * itself (an ID token from the authorization endpoint).
 */
function signInOf(ctx: KoaContextWithOIDC | undefined, token: SignInSource | undefined): { amr: unknown; authTime: unknown } | undefined {
  if (token) return { amr: token.amr, authTime: token.authTime };
  const session = ctx?.oidc?.session;
  return session ? { amr: session.amr, authTime: session.authTime() } : undefined;
}

export function createFindAccount(accounts: AccountLookup, signInProvider?: SignInProviderLookup): FindAccount {
  return async (ctx, sub, token) => {
    const account = await accounts.findById(sub);
    if (!account || account.disabled) return undefined;
    return {
      accountId: account.id,
      // oidc-provider filters these by the scopes and claims granted.
      async claims(use) {
        const signIn = use === 'id_token' && signInProvider ? signInOf(ctx, token as SignInSource | undefined) : undefined;
        const federated = Array.isArray(signIn?.amr) && signIn.amr.includes('fed') && typeof signIn.authTime === 'number';
        const idp = federated ? await signInProvider!(account.id, signIn!.authTime as number) : undefined;
        return {
          sub: account.id,
          email: account.email,
          email_verified: account.emailVerified,
          ...(account.name ? { name: account.name } : {}),
          ...(account.picture ? { picture: account.picture } : {}),
          updated_at: Math.floor(account.updatedAt.getTime() / 1000),
          ...(idp ? { idp } : {}),
        };
      },
    };
  };
}
