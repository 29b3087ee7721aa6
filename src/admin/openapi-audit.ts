// The OpenAPI part for /audit-events: the audit trail, newest first, with the
// CLI's filters (since, types and groups such as login.*), and the hourly
// summary the console's dashboard charts.
import { cursorParameter, json, limitParameter, page, problems, ref, requires, type OpenApiPart } from './openapi-common.ts';

export const auditPart: OpenApiPart = {
  tags: [{ name: 'audit', description: 'The security audit trail' }],
  schemas: {
    AuditEvent: {
      type: 'object',
      required: ['id', 'type', 'at', 'actor', 'subject', 'client_id', 'ip', 'details'],
      properties: {
        id: { type: 'string' },
        type: { type: 'string', description: 'e.g. login.success, token.issued, client.created, user.updated, key.rotated' },
        at: { type: 'string', format: 'date-time' },
        actor: { type: ['string', 'null'], description: 'Who acted: an account id, a client_id, "cli" or "schedule"' },
        subject: { type: ['string', 'null'], description: 'What was acted on: an account id, a client_id, a resource identifier, a kid' },
        client_id: { type: ['string', 'null'] },
        ip: { type: ['string', 'null'] },
        details: { type: ['object', 'null'], description: 'Event-specific; never a token, secret or password' },
      },
    },
    AuditSummary: {
      type: 'object',
      required: ['hours'],
      properties: {
        hours: {
          type: 'array',
          description: 'Every UTC hour from the one `since` falls in to the current one, oldest first, zeros included',
          items: {
            type: 'object',
            required: ['hour', 'tokens_issued', 'failed_logins'],
            properties: {
              hour: { type: 'string', format: 'date-time' },
              tokens_issued: { type: 'integer', minimum: 0, description: 'token.issued events' },
              failed_logins: { type: 'integer', minimum: 0, description: 'login.failure, passkey.failed and mfa.failed events' },
            },
          },
        },
      },
    },
  },
  paths: {
    '/audit-events': {
      get: {
        operationId: 'listAuditEvents',
        summary: 'Audit events, newest first (ordered by time, then id, so pages stay gap-free while events arrive)',
        tags: ['audit'],
        security: requires('audit:read'),
        parameters: [
          limitParameter,
          cursorParameter,
          { name: 'since', in: 'query', required: false, description: 'An ISO 8601 instant, or a span back from now as the CLI takes it (30m, 1h, 7d)', schema: { type: 'string', minLength: 1, maxLength: 64 } },
          { name: 'type', in: 'query', required: false, description: 'Comma-separated event types or groups (login.*)', schema: { type: 'string', minLength: 1, maxLength: 2048 } },
        ],
        responses: { '200': json('A page of events', page(ref('AuditEvent'))), ...problems('400') },
      },
    },
    '/audit-events/summary': {
      get: {
        operationId: 'summariseAuditEvents',
        summary: 'Tokens issued and failed sign-ins per UTC hour (the console’s dashboard)',
        tags: ['audit'],
        security: requires('audit:read'),
        parameters: [{ name: 'since', in: 'query', required: false, description: 'An ISO 8601 instant at most 31 days back; default 24 hours ago', schema: { type: 'string', format: 'date-time' } }],
        responses: { '200': json('Counts per hour', ref('AuditSummary')), ...problems('400') },
      },
    },
  },
};
