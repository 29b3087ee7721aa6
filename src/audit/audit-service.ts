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
import type { AuditEventRow, AuditRepository } from './audit-repository.ts';

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
