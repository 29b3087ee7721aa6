// The links Latchkey mails to people: verify an email address, reset a
// password, accept an invitation, confirm a new address. issue() makes a
// token of 256 random bits, stores only its SHA-256 and gives the token back
// once, for the link; use() takes it back at most once. Issuing a new link of
// a purpose retires the account's earlier unused ones, so only the newest
// mail works.
import { createHash, randomBytes } from 'node:crypto';
import type { AccountTokenRepository, AccountTokenRow } from './account-token-repository.ts';

export const ACCOUNT_TOKEN_PURPOSES = ['verify_email', 'reset_password', 'invite', 'change_email'] as const;
export type AccountTokenPurpose = (typeof ACCOUNT_TOKEN_PURPOSES)[number];

/** Seconds each kind of link stays good. */
export const ACCOUNT_TOKEN_TTL: Readonly<Record<AccountTokenPurpose, number>> = Object.freeze({
  verify_email: 24 * 3600,
  // Short: whoever reads the mail can take over the account.
  reset_password: 30 * 60,
  // An invitation waits for someone who may not read mail every day.
  invite: 7 * 24 * 3600,
  change_email: 24 * 3600,
});

/** A token as it appears in a link: 43 base64url characters. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface IssueInput {
  readonly purpose: AccountTokenPurpose;
  readonly accountId: string;
  /** The address the link goes to. */
  readonly email: string;
  /** The sign-in page the link resumes when followed in the same browser. */
  readonly interactionUid?: string | null;
}

export interface UsedToken {
  readonly accountId: string;
  readonly email: string;
  readonly interactionUid: string | null;
}

/** Why a link was not taken: never matched anything (or was tampered with), already used, or too old. */
export type TokenRefusal = 'invalid' | 'used' | 'expired';

export type UseResult = { readonly ok: true; readonly token: UsedToken } | { readonly ok: false; readonly reason: TokenRefusal };

export interface AccountTokensDeps {
  readonly repository: AccountTokenRepository;
  readonly now?: () => Date;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

export function createAccountTokens({ repository, now = () => new Date() }: AccountTokensDeps) {
  function refusal(row: AccountTokenRow | undefined, purpose: AccountTokenPurpose, at: Date): TokenRefusal {
    if (!row || row.purpose !== purpose) return 'invalid';
    if (row.consumedAt) return 'used';
    return row.expiresAt <= at ? 'expired' : 'used';
  }

  return {
    /** Stores a new link's digest, retiring the account's unused links of the same purpose; returns the token for the link. */
    async issue({ purpose, accountId, email, interactionUid = null }: IssueInput): Promise<string> {
      const at = now();
      const token = randomBytes(32).toString('base64url');
      await repository.consumeAllFor(accountId, [purpose], at);
      await repository.insert({ id: digest(token), purpose, accountId, email, interactionUid, expiresAt: new Date(at.getTime() + ACCOUNT_TOKEN_TTL[purpose] * 1000) }, at);
      return token;
    },

    /** What the link's token stands for, without using it (to show the form a link leads to). */
    async peek(purpose: AccountTokenPurpose, token: unknown): Promise<UseResult> {
      if (typeof token !== 'string' || !TOKEN.test(token)) return { ok: false, reason: 'invalid' };
      const at = now();
      const row = await repository.findById(digest(token));
      if (!row || row.purpose !== purpose || row.consumedAt || row.expiresAt <= at) return { ok: false, reason: refusal(row, purpose, at) };
      return { ok: true, token: { accountId: row.accountId, email: row.email, interactionUid: row.interactionUid } };
    },

    /** Uses the link: succeeds once, for one caller, while it is unexpired. */
    async use(purpose: AccountTokenPurpose, token: unknown): Promise<UseResult> {
      if (typeof token !== 'string' || !TOKEN.test(token)) return { ok: false, reason: 'invalid' };
      const at = now();
      const id = digest(token);
      const won = await repository.consume(id, purpose, at);
      const row = await repository.findById(id);
      if (!won || !row) return { ok: false, reason: refusal(row, purpose, at) };
      return { ok: true, token: { accountId: row.accountId, email: row.email, interactionUid: row.interactionUid } };
    },

    /**
     * What a link was issued for, whatever became of it (used, retired,
     * expired); undefined for a token that never matched. For the page a dead
     * link leads to (offer a new link in the browser that asked for it), and
     * for a verify link a mail scanner followed first. Grants nothing: only
     * use() takes a link.
     */
    async lookUp(purpose: AccountTokenPurpose, token: unknown): Promise<UsedToken | undefined> {
      if (typeof token !== 'string' || !TOKEN.test(token)) return undefined;
      const row = await repository.findById(digest(token));
      if (!row || row.purpose !== purpose) return undefined;
      return { accountId: row.accountId, email: row.email, interactionUid: row.interactionUid };
    },

    /** Whether a link of this purpose was issued to the account from that sign-in page: a resend from it may issue another. */
    issuedFrom: (accountId: string, purpose: AccountTokenPurpose, interactionUid: string) => repository.existsFor(accountId, purpose, interactionUid),

    /** Retires the account's unused links of these purposes (a password changed, an address verified another way). */
    async retire(accountId: string, purposes: readonly AccountTokenPurpose[]): Promise<void> {
      await repository.consumeAllFor(accountId, purposes, now());
    },

    deleteForAccount: (accountId: string) => repository.deleteForAccount(accountId),

    /** Deletes rows expired before `before`, at most `limit`; resolves to how many. */
    purgeExpired: (before: Date, limit?: number) => repository.purgeExpired(before, limit),
  };
}

export type AccountTokens = ReturnType<typeof createAccountTokens>;
