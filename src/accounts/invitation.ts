// Inviting a person: an account nobody can sign in to yet (its password is
// 256 random bits nobody is told) and one queued mail with a link, good for
// 7 days, to choose a password. The link is a credential: it goes into the
// mail and nowhere else. One function for `latchkey user invite` and the
// Admin API's POST /users without a password.
import { randomBytes } from 'node:crypto';
import type { MailService } from '../mail/mail-service.ts';
import type { AccountService, AccountView } from './account-service.ts';
import type { AccountTokens } from './account-tokens.ts';

export interface InvitationInput {
  readonly email: string;
  readonly name?: string;
}

export interface Invitation {
  readonly account: AccountView;
  /** False when the mail could not be queued (logged by the mail service); the account exists all the same. */
  readonly mailQueued: boolean;
}

export interface InvitationsDeps {
  readonly accounts: Pick<AccountService, 'create'>;
  readonly accountTokens: Pick<AccountTokens, 'issue'>;
  /** Mailed links are absolute, on the issuer's origin. */
  readonly issuer: string;
}

export function createInvitations({ accounts, accountTokens, issuer }: InvitationsDeps) {
  return {
    /** Creates the account (AlreadyExistsError for a taken email) and queues its invitation through `mail`. */
    async invite({ email, name }: InvitationInput, mail: Pick<MailService, 'enqueue'>): Promise<Invitation> {
      const account = await accounts.create({ email, ...(name !== undefined && { name }), password: randomBytes(32).toString('base64url') });
      const token = await accountTokens.issue({ purpose: 'invite', accountId: account.id, email: account.email });
      const link = `${issuer}/password/invite?token=${token}`;
      const mailQueued = (await mail.enqueue({ to: account.email, template: 'invite', data: { name: account.name, email: account.email, link } })) !== null;
      return { account, mailQueued };
    },
  };
}

export type Invitations = ReturnType<typeof createInvitations>;
