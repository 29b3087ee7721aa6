// The background loop that delivers queued back-channel logouts, on every
// instance: each run reads the rows due, claims each one (one instance wins a
// row, the others skip it), and delivers the claimed rows side by side, so a
// slow RP does not hold up the others. For each: the client as it is now (a
// client deleted, or whose URI was removed, is owed nothing more), a logout
// token signed now (logout-token.ts), the POST (logout-delivery.ts), then the
// row marked delivered, scheduled again (the mail queue's schedule: 5 s
// doubling to an hour apart) or given up: at once when the RP refuses the
// token or the address is refused, after a day of failures otherwise. Each
// outcome but a retry is an audit event; a retry is a log line.
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { Log } from '../log.ts';
import { DEFAULT_RETRY_SCHEDULE, givesUp, retryDelayMs, type RetrySchedule } from '../mail/retry-schedule.ts';
import { startPeriodic, type Periodic } from '../periodic.ts';
import { LogoutDeliveryError, type LogoutDelivery } from './logout-delivery.ts';
import type { LogoutOutboxRepository, LogoutOutboxRow } from './logout-outbox-repository.ts';
import type { LogoutTokenSigner } from './logout-token.ts';

export const LOGOUT_SEND_INTERVAL_MS = 5_000;
/** Rows read per run; a run that finds this many asks for the next run at once. */
export const LOGOUT_BATCH_SIZE = 20;
/** How long a claimed row is left to its sender: far beyond the delivery timeout. */
export const LOGOUT_LEASE_MS = 5 * 60_000;

export interface LogoutSenderDeps {
  readonly repository: LogoutOutboxRepository;
  /** The client registry as it is now (client-service.ts). */
  readonly clients: { findProviderMetadata(clientId: string): Promise<{ readonly backchannel_logout_uri?: string } | undefined> };
  /** Whether the client was registered over /reg (registration-tokens.ts): its URI may not reach special-use addresses. */
  readonly registeredDynamically: (clientId: string) => Promise<boolean>;
  readonly signer: LogoutTokenSigner;
  readonly delivery: LogoutDelivery;
  readonly audit: { record(event: AuditEventInput): void };
  readonly log: Pick<Log, 'warn'>;
  readonly schedule?: RetrySchedule;
  readonly batchSize?: number;
  readonly leaseMs?: number;
  readonly now?: () => Date;
}

/** Why a row is given up without a POST. */
class Undeliverable extends Error {
  constructor(readonly code: 'client_gone' | 'no_backchannel_uri') {
    super(code === 'client_gone' ? 'the client no longer exists' : 'the client no longer has a backchannel_logout_uri');
  }
}

/** What is stored and audited of a failure: its code and message on one bounded line. */
function failureOf(error: unknown): { code: string; line: string; permanent: boolean } {
  if (error instanceof LogoutDeliveryError) return { code: error.code, line: `${error.code}: ${error.message}`, permanent: error.permanent };
  if (error instanceof Undeliverable) return { code: error.code, line: `${error.code}: ${error.message}`, permanent: true };
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
  return { code: 'error', line: `error: ${message}`.slice(0, 300), permanent: false };
}

export function createLogoutSender(deps: LogoutSenderDeps) {
  const { repository, clients, signer, delivery, audit, log, schedule = DEFAULT_RETRY_SCHEDULE, batchSize = LOGOUT_BATCH_SIZE, leaseMs = LOGOUT_LEASE_MS, now = () => new Date() } = deps;

  const event = (row: LogoutOutboxRow, type: 'backchannel_logout.delivered' | 'backchannel_logout.failed', details: Record<string, string | number>) =>
    audit.record({ type, subject: row.accountId, clientId: row.clientId, details: { notice: row.id, trigger: row.trigger, attempts: row.attempts, ...details } });

  async function attempt(row: LogoutOutboxRow): Promise<void> {
    try {
      const client = await clients.findProviderMetadata(row.clientId);
      if (!client) throw new Undeliverable('client_gone');
      if (!client.backchannel_logout_uri) throw new Undeliverable('no_backchannel_uri');
      const publicOnly = await deps.registeredDynamically(row.clientId);
      const token = await signer.sign({ clientId: row.clientId, accountId: row.accountId, sid: row.sid });
      await delivery.post(client.backchannel_logout_uri, token, { publicOnly });
    } catch (error) {
      const failure = failureOf(error);
      const at = now();
      if (failure.permanent || givesUp(row.createdAt, at, schedule)) {
        await repository.markFailed(row.id, at, failure.line);
        event(row, 'backchannel_logout.failed', { error: failure.code });
      } else {
        const delay = retryDelayMs(row.attempts, schedule);
        await repository.scheduleRetry(row.id, new Date(at.getTime() + delay), failure.line);
        log.warn({ notice: row.id, clientId: row.clientId, attempts: row.attempts, retryInMs: delay, lastError: failure.line }, 'back-channel logout failed; it stays queued');
      }
      return;
    }
    await repository.markDelivered(row.id, now());
    event(row, 'backchannel_logout.delivered', {});
  }

  return {
    /** One run: delivers what is due. Resolves with the milliseconds until the next row falls due, when there is one. */
    async sendDue(): Promise<number | void> {
      const due = await repository.findDue(now(), batchSize);
      const claimed: LogoutOutboxRow[] = [];
      for (const row of due) {
        const mine = await repository.claim(row, new Date(now().getTime() + leaseMs));
        if (mine) claimed.push(mine); // otherwise another instance has it
      }
      await Promise.all(claimed.map(attempt));
      if (due.length === batchSize) return 0;
      const next = await repository.nextDueAt();
      return next ? Math.max(0, next.getTime() - now().getTime()) : undefined;
    },
  };
}

export type LogoutSender = ReturnType<typeof createLogoutSender>;

export interface LogoutSenderLoopOptions extends LogoutSenderDeps {
  readonly intervalMs?: number;
  readonly onError: (error: unknown) => void;
}

/** The sender on its own startPeriodic loop; its first run comes at once (logouts queued before a restart go out). */
export function startLogoutSender({ intervalMs = LOGOUT_SEND_INTERVAL_MS, onError, ...deps }: LogoutSenderLoopOptions): Periodic {
  const sender = createLogoutSender(deps);
  return startPeriodic({ name: 'back-channel logout sender', run: sender.sendDue, intervalMs, onError, firstRunInMs: 0 });
}
