// Records audit events: each one becomes a structured log line at once
// (level info, `audit: true`) and a row in AuditEvent. The server records
// through a batching buffer (audit-buffer.ts says what a crash can lose and
// why that is acceptable); the CLI records synchronously, because its changes
// are rare and the process exits right after.
import { isDatabaseUnavailable } from '../db/availability.ts';
import type { Log } from '../log.ts';
import { auditEventId, type AuditDetailValue, type AuditEvent, type AuditEventInput } from './audit-event.ts';
import { createAuditBuffer, type AuditBufferOptions } from './audit-buffer.ts';
import { parseAuditQuery, type AuditListInput } from './audit-query.ts';
import type { AuditEventRow, AuditPosition, AuditRepository } from './audit-repository.ts';

/** The types the dashboard counts: tokens issued, and every failed sign-in step (password, passkey, second factor). */
export const TOKENS_ISSUED_TYPES = ['token.issued'] as const;
export const FAILED_LOGIN_TYPES = ['login.failure', 'passkey.failed', 'mfa.failed', 'federation.failed'] as const;

export interface AuditPage {
  readonly events: readonly AuditEvent[];
  /** Where the next page starts after (the last event of this one), or null on the last page. */
  readonly next: AuditPosition | null;
}

export interface HourSummary {
  /** The start of the UTC hour. */
  readonly hour: Date;
  readonly tokensIssued: number;
  readonly failedLogins: number;
}

const HOUR_MS = 3_600_000;

export type AuditBatchOptions = Pick<AuditBufferOptions<unknown>, 'intervalMs' | 'batchSize' | 'capacity' | 'stopTimeoutMs'>;

export interface AuditServiceDeps {
  readonly repository: AuditRepository;
  /** Where every event's log line goes. The CLI passes none: its stdout and stderr belong to the operator. */
  readonly log?: Log;
  readonly batch?: Partial<AuditBatchOptions>;
  readonly now?: () => Date;
}

export const DEFAULT_BATCH: AuditBatchOptions = {
  intervalMs: 1000,
  batchSize: 100,
  // A few MB at worst (rows are a few hundred bytes): tens of seconds of a busy instance's token requests while the database is away.
  capacity: 10_000,
  stopTimeoutMs: 3000,
};

export function createAuditService({ repository, log, batch, now = () => new Date() }: AuditServiceDeps) {
  const buffer = createAuditBuffer<AuditEventRow>({
    ...DEFAULT_BATCH,
    ...batch,
    write: (rows) => repository.insertMany(rows),
    retryable: isDatabaseUnavailable,
    onWriteError: (error, { kept, lost }) =>
      lost > 0
        ? log?.error({ err: error, lost }, 'audit events could not be written and were discarded (they are in this log)')
        : log?.warn({ err: error, kept }, 'audit events cannot be written now; keeping them in memory and retrying'),
    onResumed: ({ dropped, outage }) =>
      outage
        ? log?.info({ dropped }, 'audit events are being written again')
        : log?.warn({ dropped }, 'audit events were dropped: more arrived than the database could take (they are in this log)'),
  });

  function toRow(input: AuditEventInput): AuditEventRow {
    const at = now();
    return {
      id: auditEventId(at),
      type: input.type,
      at,
      actor: input.actor ?? null,
      subject: input.subject ?? null,
      clientId: input.clientId ?? null,
      ip: input.ip ?? null,
      details: input.details && Object.keys(input.details).length ? JSON.stringify(input.details) : null,
    };
  }

  function writeLogLine(row: AuditEventRow, input: AuditEventInput): void {
    log?.info(
      {
        audit: true,
        id: row.id,
        type: row.type,
        at: row.at.toISOString(),
        actor: row.actor,
        subject: row.subject,
        clientId: row.clientId,
        ip: row.ip,
        details: input.details ?? null,
        ...(input.requestId && { requestId: input.requestId }),
      },
      `audit ${row.type}`,
    );
  }

  return {
    /** Logs the event now and stores it with the next batch. Never waits, never throws: auditing must not fail a request. */
    record(input: AuditEventInput): void {
      try {
        const row = toRow(input);
        writeLogLine(row, input);
        buffer.add(row);
      } catch (error) {
        log?.error({ err: error, type: input.type }, 'recording an audit event failed');
      }
    },

    /** Logs and stores the event before resolving (the CLI: one change, then the process exits). */
    async recordNow(input: AuditEventInput): Promise<AuditEvent> {
      const row = toRow(input);
      writeLogLine(row, input);
      await repository.insert(row);
      return toEvent(row);
    },

    /** Newest first. Reads the table only: events still in this process's buffer are written first. */
    async list(input: AuditListInput = {}): Promise<AuditEvent[]> {
      const query = parseAuditQuery(input, now());
      await buffer.flush();
      return (await repository.list(query)).map(toEvent);
    },

    /**
     * A page of events, newest first, after `before` (the previous page's
     * last event): ordered by (at desc, id desc), so events recorded between
     * two pages land before the first and never shift a page. Filters as
     * list (audit-query.ts: since, types and groups).
     */
    async page(input: AuditListInput & { readonly before?: AuditPosition }): Promise<AuditPage> {
      const query = parseAuditQuery(input, now());
      await buffer.flush();
      const rows = await repository.list({ ...query, limit: query.limit + 1, ...(input.before && { before: input.before }) });
      const events = rows.slice(0, query.limit).map(toEvent);
      const last = events.at(-1);
      return { events, next: rows.length > query.limit && last ? { at: last.at, id: last.id } : null };
    },

    /**
     * Tokens issued and failed sign-ins per UTC hour, from the hour `since`
     * falls in to the current one, hours without events included (zeros).
     * One grouped query (audit-repository.ts hourlyCounts).
     */
    async hourlySummary(since: Date): Promise<HourSummary[]> {
      await buffer.flush();
      const counts = await repository.hourlyCounts(since, [...TOKENS_ISSUED_TYPES, ...FAILED_LOGIN_TYPES]);
      const byHour = new Map<number, { tokensIssued: number; failedLogins: number }>();
      const first = Math.floor(since.getTime() / HOUR_MS) * HOUR_MS;
      for (let hour = first; hour <= now().getTime(); hour += HOUR_MS) byHour.set(hour, { tokensIssued: 0, failedLogins: 0 });
      for (const { hour, type, count } of counts) {
        const start = Date.parse(`${hour.slice(0, 10)}T${hour.slice(11, 13)}:00:00Z`);
        const bucket = byHour.get(start) ?? { tokensIssued: 0, failedLogins: 0 };
        if ((TOKENS_ISSUED_TYPES as readonly string[]).includes(type)) bucket.tokensIssued += count;
        else bucket.failedLogins += count;
        byHour.set(start, bucket);
      }
      return [...byHour.entries()].sort(([a], [b]) => a - b).map(([hour, bucket]) => ({ hour: new Date(hour), ...bucket }));
    },

    /** Deletes stored events older than `days` days (the retention schedule); returns how many, at most `limit`. */
    purgeOlderThan: (days: number, limit?: number) => repository.purgeBefore(new Date(now().getTime() - days * 24 * 3600 * 1000), limit),

    flush: () => buffer.flush(),
    /** On shutdown, after the last request: writes what is buffered (bounded wait). */
    stop: () => buffer.stop(),
    stats: () => buffer.stats(),
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

function toEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    type: row.type,
    at: row.at,
    actor: row.actor,
    subject: row.subject,
    clientId: row.clientId,
    ip: row.ip,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, AuditDetailValue>),
  };
}
