// The background loop that sends queued mail: each run reads the rows due,
// claims each one before sending it (mail-outbox-repository.ts: one instance
// wins a row, the others skip it), hands it to the transport, and marks it
// sent or schedules the next try (retry-schedule.ts). A claim lasts a lease
// well beyond the transport's timeouts, so a sender that dies mid-send leaves
// its row to be tried again once the lease ends: mail is sent at least once,
// and twice only when an instance dies between the server's "250 OK" and the
// row's update (the repeat carries the same Message-ID).
import type { Log } from '../log.ts';
import { startPeriodic, type Periodic } from '../periodic.ts';
import type { MailOutboxRepository } from './mail-outbox-repository.ts';
import type { MailTransport } from './mail-transport.ts';
import { DEFAULT_RETRY_SCHEDULE, givesUp, retryDelayMs, type RetrySchedule } from './retry-schedule.ts';

export const MAIL_SEND_INTERVAL_MS = 5_000;
/** Rows read per run; a run that finds this many asks for the next run at once. */
export const MAIL_BATCH_SIZE = 20;
/** How long a claimed row is left to its sender. */
export const MAIL_LEASE_MS = 10 * 60_000;

export interface MailSenderDeps {
  readonly repository: MailOutboxRepository;
  readonly transport: MailTransport;
  /** The From header (LATCHKEY_MAIL_FROM). */
  readonly from: string;
  readonly log: Pick<Log, 'warn' | 'error'>;
  readonly schedule?: RetrySchedule;
  readonly batchSize?: number;
  readonly leaseMs?: number;
  readonly now?: () => Date;
}

// nodemailer's codes for a message or recipient the server refused; any
// other failure (no connection, timeout, TLS, authentication) is the server's
// or the network's, and would fail the next mail of this run just the same.
const MESSAGE_ERRORS: ReadonlySet<string> = new Set(['EENVELOPE', 'EMESSAGE']);

/** What is stored and logged of a failure: its code and message on one bounded line, any URL credentials cut out. */
export function describeFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const line = `${typeof code === 'string' ? `${code}: ` : ''}${message}`.replace(/\s+/g, ' ').replace(/\/\/[^\s/@]*:[^\s/@]*@/g, '//[redacted]@');
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}

export function createMailSender(deps: MailSenderDeps) {
  const { repository, transport, from, log, schedule = DEFAULT_RETRY_SCHEDULE, batchSize = MAIL_BATCH_SIZE, leaseMs = MAIL_LEASE_MS, now = () => new Date() } = deps;

  /** Tries one claimed row; returns false when the failure says the next mail would fail too. */
  async function attempt(mail: NonNullable<Awaited<ReturnType<MailOutboxRepository['claim']>>>): Promise<boolean> {
    try {
      await transport.send({ id: mail.id, from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    } catch (error) {
      const failure = describeFailure(error);
      const at = now();
      if (givesUp(mail.createdAt, at, schedule)) {
        await repository.markFailed(mail.id, at, failure);
        log.error({ mailId: mail.id, attempts: mail.attempts, lastError: failure }, `gave up sending mail ${mail.id} after ${mail.attempts} attempts since ${mail.createdAt.toISOString()}`);
      } else {
        const delay = retryDelayMs(mail.attempts, schedule);
        await repository.scheduleRetry(mail.id, new Date(at.getTime() + delay), failure);
        log.warn({ mailId: mail.id, attempts: mail.attempts, retryInMs: delay, lastError: failure }, 'sending mail failed; it stays queued');
      }
      return MESSAGE_ERRORS.has((error as { code?: string }).code ?? '');
    }
    await repository.markSent(mail.id, now());
    return true;
  }

  return {
    /** One run: sends what is due. Resolves with the milliseconds until the next row falls due, when there is one. */
    async sendDue(): Promise<number | void> {
      const due = await repository.findDue(now(), batchSize);
      for (const row of due) {
        const mail = await repository.claim(row, new Date(now().getTime() + leaseMs));
        if (!mail) continue; // another instance has it
        // The server is unreachable: the rest wait an interval, not a run straight after this one.
        if (!(await attempt(mail))) return;
      }
      if (due.length === batchSize) return 0;
      const next = await repository.nextDueAt();
      return next ? Math.max(0, next.getTime() - now().getTime()) : undefined;
    },
  };
}

export type MailSender = ReturnType<typeof createMailSender>;

export interface MailSenderLoopOptions extends MailSenderDeps {
  readonly intervalMs?: number;
  readonly onError: (error: unknown) => void;
}

/** The sender on its own startPeriodic loop; its first run comes at once (mail queued before a restart goes out). */
export function startMailSender({ intervalMs = MAIL_SEND_INTERVAL_MS, onError, ...deps }: MailSenderLoopOptions): Periodic {
  const sender = createMailSender(deps);
  return startPeriodic({ name: 'mail sender', run: sender.sendDue, intervalMs, onError, firstRunInMs: 0 });
}
