// "Forgot password?": a request for a reset link for an email address. The
// page that asks must answer the same, at the same speed, for a known, an
// unknown and a disabled address, or it tells anyone who has an account. So
// the only work on the response path is the abuse limit (its keys never
// depend on whether the account exists); looking the account up, issuing the
// link and queueing the mail run after the answer, off the response path, and
// their errors are logged without the address or the link.
import type { AccountService } from '../accounts/account-service.ts';
import type { AccountTokens } from '../accounts/account-tokens.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { Log } from '../log.ts';
import type { MailService } from '../mail/mail-service.ts';
import type { AccountLimits, LimitVerdict } from '../throttle/account-limits.ts';

export interface ForgotPasswordDeps {
  readonly accounts: Pick<AccountService, 'findByEmail'>;
  readonly accountTokens: Pick<AccountTokens, 'issue'>;
  readonly limits: Pick<AccountLimits, 'mail'>;
  readonly mail: Pick<MailService, 'enqueue'>;
  readonly audit: Pick<AuditService, 'record'>;
  /** Links are absolute, on the issuer's origin. */
  readonly issuer: string;
  readonly log: Pick<Log, 'error'>;
}

export interface ResetRequest {
  readonly email: string;
  /** The sign-in page (interaction) the request came from: the link leads back into it. */
  readonly uid: string;
  readonly ip: string;
  readonly requestId?: string;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createForgotPassword({ accounts, accountTokens, limits, mail, audit, issuer, log }: ForgotPasswordDeps) {
  const pending = new Set<Promise<void>>();

  async function mailLink({ email, uid, ip, requestId }: ResetRequest): Promise<void> {
    const account = await accounts.findByEmail(email);
    // Unknown or disabled: nothing is sent, and nothing is recorded that the page could differ by.
    if (!account || account.disabled) return;
    const token = await accountTokens.issue({ purpose: 'reset_password', accountId: account.id, email: account.email, interactionUid: uid });
    const link = `${issuer}/interaction/${encodeURIComponent(uid)}/reset?token=${token}`;
    await mail.enqueue({ to: account.email, template: 'reset-password', data: { name: account.name, email: account.email, link } });
    audit.record({ type: 'account.password_reset_requested', actor: account.id, subject: account.id, ip, ...(requestId && { requestId }) });
  }

  return {
    /**
     * Counts the request against the mail limits and, when allowed, starts
     * mailing a link without waiting for it. The verdict is all the page may
     * depend on.
     */
    async request(input: ResetRequest): Promise<LimitVerdict> {
      const verdict = await limits.mail(input.ip, input.email);
      if (!verdict.allowed) return verdict;
      // Begun on the next turn of the event loop, after the answer is written:
      // on SQLite a query runs on this thread, so work started now would still
      // delay the page of a known address.
      const work = nextTurn().then(() => mailLink(input)).catch((error: unknown) => {
        // The class and code only: a database error's message can quote the address or the token's row.
        const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
        log.error({ error: { name: String(name), code: typeof code === 'string' ? code : undefined }, interaction: input.uid }, 'could not mail a password reset link');
      });
      pending.add(work);
      void work.finally(() => pending.delete(work));
      return verdict;
    },

    /** Resolves once every link asked for so far is queued or has failed (on shutdown, before the database closes). */
    async settled(): Promise<void> {
      await Promise.all(pending);
    },
  };
}

export type ForgotPassword = ReturnType<typeof createForgotPassword>;
