// oidc-provider's findAccount: the standard claims of an account, by scope.
// `sub` is the account's opaque id, never its email. A disabled or deleted
// account is not found, which makes its sessions and refresh tokens stop working.
import type { FindAccount } from 'oidc-provider';

export interface AccountRecord {
  readonly id: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string | null;
  readonly disabled: boolean;
  /** The admin-console role (accounts/admin-role.ts); absent reads as none. */
  readonly role?: string;
  readonly updatedAt: Date;
}

export interface AccountLookup {
  findById(id: string): Promise<AccountRecord | undefined | null>;
}

export function createFindAccount(accounts: AccountLookup): FindAccount {
  return async (_ctx, sub) => {
    const account = await accounts.findById(sub);
    if (!account || account.disabled) return undefined;
    return {
      accountId: account.id,
      // oidc-provider filters these by the scopes and claims granted.
      async claims() {
        return {
          sub: account.id,
          email: account.email,
          email_verified: account.emailVerified,
          ...(account.name ? { name: account.name } : {}),
          updated_at: Math.floor(account.updatedAt.getTime() / 1000),
        };
      },
    };
  };
}
