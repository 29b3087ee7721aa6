// The /audit-events routes of the Admin API: the audit trail through the
// audit service, with the CLI's filters (audit-query.ts) and a cursor on
// (at desc, id desc); and the hourly summary of tokens issued and failed
// sign-ins the console's dashboard draws.
import type { AuditEvent } from '../../audit/audit-event.ts';
import { InvalidInputError } from '../../errors.ts';
import type { AdminDeps } from '../admin-deps.ts';
import { adminRoute, reply, type AdminRoute } from '../admin-route.ts';
import { decodeCursor, encodeCursor, limitOf } from '../cursor.ts';
import { ProblemError } from '../problem.ts';

/** The summary reaches back this far at most: 744 hourly buckets. */
const SUMMARY_MAX_MS = 31 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

export function auditEventJson(event: AuditEvent) {
  return { id: event.id, type: event.type, at: event.at.toISOString(), actor: event.actor, subject: event.subject, client_id: event.clientId, ip: event.ip, details: event.details };
}

const invalidQuery = (field: string, message: string) => new ProblemError(400, 'invalid_query', `${field}: ${message}`, { errors: [{ field, message }] });

export function auditEventRoutes({ services }: AdminDeps): AdminRoute[] {
  const { audit } = services;
  return [
    adminRoute('GET', '/audit-events', 'audit:read', async (ctx) => {
      const { query } = ctx.state.input;
      const cursor = decodeCursor(query.cursor, 2);
      const before = cursor && { at: new Date(cursor[0]!), id: cursor[1]! };
      if (before && Number.isNaN(before.at.getTime())) throw invalidQuery('cursor', 'not a cursor from next_cursor');
      const types = typeof query.type === 'string' ? query.type.split(',').filter((type) => type.trim() !== '') : undefined;
      try {
        const page = await audit.page({
          limit: limitOf(query),
          ...(typeof query.since === 'string' && { since: query.since }),
          ...(types?.length && { types }),
          ...(before && { before }),
        });
        reply(ctx, 200, { items: page.events.map(auditEventJson), next_cursor: page.next ? encodeCursor([page.next.at.toISOString(), page.next.id]) : null });
      } catch (error) {
        // audit-query.ts names the parameter at fault (since, type).
        if (error instanceof InvalidInputError && error.field) throw invalidQuery(error.field, error.field === 'type' ? 'names no known event type or group (such as login.*)' : 'is neither an ISO 8601 instant nor a span such as 30m, 1h, 7d');
        throw error;
      }
    }),

    adminRoute('GET', '/audit-events/summary', 'audit:read', async (ctx) => {
      const { query } = ctx.state.input;
      const now = Date.now();
      const since = typeof query.since === 'string' ? new Date(query.since) : new Date(now - DAY_MS);
      if (Number.isNaN(since.getTime()) || now - since.getTime() > SUMMARY_MAX_MS) throw invalidQuery('since', 'must be an ISO 8601 instant at most 31 days back');
      const hours = await audit.hourlySummary(since);
      reply(ctx, 200, { hours: hours.map((hour) => ({ hour: hour.hour.toISOString(), tokens_issued: hour.tokensIssued, failed_logins: hour.failedLogins })) });
    }),
  ];
}
