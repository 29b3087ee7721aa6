// Which account an upstream identity signs in to: (provider, upstream
// subject) → account, one account per upstream identity. Links are made by
// the federated sign-in once the person has proven the account is theirs
// (src/federation/'s routes), touched on every sign-in through them, listed
// and unlinked on the account page, and deleted with their provider or
// their account.
import { isDatabaseText } from '../db/database-text.ts';
import { AlreadyLinkedError, InvalidInputError } from '../errors.ts';
import { EMAIL_MAX_LENGTH } from '../accounts/account-validation.ts';
import type { IdentityProviderService } from './identity-provider-service.ts';
import { SUBJECT_MAX_LENGTH, type FederatedIdentityRepository } from './federated-identity-repository.ts';

export interface FederatedLink {
  readonly accountId: string;
  readonly email: string | null;
}

export interface LinkInput {
  readonly providerId: string;
  /** The upstream `sub` (github: the numeric user id, as text). */
  readonly subject: string;
  readonly accountId: string;
  /** The upstream's email now, verified or not: shown on the account page, never used to find an account. */
  readonly email: string | null;
  readonly now: Date;
}

/** A link as the account page shows it. */
export interface LinkedIdentity {
  readonly providerId: string;
  readonly slug: string;
  readonly name: string;
  readonly subject: string;
  readonly email: string | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

export interface FederatedIdentitiesDeps {
  readonly repository: FederatedIdentityRepository;
  readonly providers: Pick<IdentityProviderService, 'findManyById'>;
}

/** An upstream's email as shown, or null when it is none the database should hold (it is only ever displayed). */
function storableEmail(email: string | null): string | null {
  if (email === null) return null;
  const trimmed = email.trim().toLowerCase();
  return isDatabaseText(trimmed, EMAIL_MAX_LENGTH) && !/\p{Cc}/u.test(trimmed) ? trimmed : null;
}

export function createFederatedIdentities({ repository, providers }: FederatedIdentitiesDeps) {
  return {
    async find(providerId: string, subject: string): Promise<FederatedLink | undefined> {
      const row = await repository.find(providerId, subject);
      return row && { accountId: row.accountId, email: row.email };
    },

    /**
     * Links the upstream identity to the account. Linking it again to the
     * same account only refreshes its email; to another account it is
     * AlreadyLinkedError (the primary key decides, also when two sign-ins race).
     */
    async link({ providerId, subject, accountId, email, now }: LinkInput): Promise<void> {
      if (!isDatabaseText(subject, SUBJECT_MAX_LENGTH)) throw new InvalidInputError(`the upstream subject must be 1 to ${SUBJECT_MAX_LENGTH} characters of text`, { field: 'subject' });
      const stored = storableEmail(email);
      if (await repository.insert({ providerId, subject, accountId, email: stored, createdAt: now, lastUsedAt: now })) return;
      const existing = await repository.find(providerId, subject);
      if (existing && existing.accountId !== accountId) throw new AlreadyLinkedError('this upstream identity is already linked to another account');
      // Unlinked in between: try once more; a second loss is a real conflict.
      if (!existing && !(await repository.insert({ providerId, subject, accountId, email: stored, createdAt: now, lastUsedAt: now }))) {
        throw new AlreadyLinkedError('this upstream identity is already linked to another account');
      }
      if (existing) await repository.touch(providerId, subject, { email: stored, lastUsedAt: now });
    },

    /** Records a sign-in through the link: when, and the upstream's email at the time. */
    async touch(providerId: string, subject: string, email: string | null, now: Date): Promise<void> {
      if (!isDatabaseText(providerId, 36) || !isDatabaseText(subject, SUBJECT_MAX_LENGTH)) return;
      await repository.touch(providerId, subject, { email: storableEmail(email), lastUsedAt: now });
    },

    /** The account's links, oldest first, with their provider's slug and name. */
    async listForAccount(accountId: string): Promise<LinkedIdentity[]> {
      const rows = await repository.listForAccount(accountId);
      if (rows.length === 0) return [];
      const byId = new Map((await providers.findManyById([...new Set(rows.map((row) => row.providerId))])).map((idp) => [idp.id, idp]));
      return rows.flatMap((row) => {
        const idp = byId.get(row.providerId);
        if (!idp) return [];
        return [{ providerId: row.providerId, slug: idp.slug, name: idp.name, subject: row.subject, email: row.email, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt }];
      });
    },

    /** How many upstream identities sign in to the account. */
    countForAccount(accountId: string): Promise<number> {
      return repository.countForAccount(accountId);
    },

    /** Removes the account's link(s) through the provider; true when there was one. */
    async unlink(accountId: string, providerId: string): Promise<boolean> {
      return (await repository.deleteForAccountAndProvider(accountId, providerId)) > 0;
    },
  };
}

export type FederatedIdentities = ReturnType<typeof createFederatedIdentities>;
