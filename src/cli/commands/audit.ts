// `latchkey audit …`: read the audit trail (newest first).
import type { AuditEvent } from '../../audit/audit-event.ts';
import type { AuditListInput } from '../../audit/audit-query.ts';
import { optionalInteger, optionalString, stringList } from '../args.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { table } from '../format.ts';

/** Details as `key=value` pairs, lists joined by commas: one line per event. */
function detailText(details: AuditEvent['details']): string {
  if (!details) return '-';
  return Object.entries(details)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');
}

const list = defineCommand<AuditListInput>({
  usage: 'list [--since ISO8601|30m|1h|7d] [--type TYPE]... [--limit N]',
  summary: 'List audit events, newest first (--type repeats; login.* matches a group)',
  options: {
    since: { type: 'string' },
    type: { type: 'string', multiple: true },
    limit: { type: 'string' },
  },
  parse(args) {
    const since = optionalString(args, 'since');
    const types = stringList(args, 'type', { commas: true });
    const limit = optionalInteger(args, 'limit');
    return { ...(since !== undefined && { since }), ...(types && { types }), ...(limit !== undefined && { limit }) };
  },
  async run({ services }, input) {
    const events = await services.audit.list(input);
    const rows = events.map((event) => [
      event.at.toISOString(),
      event.type,
      event.actor ?? '-',
      event.subject ?? '-',
      event.clientId ?? '-',
      event.ip ?? '-',
      detailText(event.details),
    ]);
    return {
      json: { events },
      human: table(['AT', 'TYPE', 'ACTOR', 'SUBJECT', 'CLIENT', 'IP', 'DETAILS'], rows, 'No audit events match.'),
    };
  },
});

export const auditCommands: CommandGroup = {
  name: 'audit',
  summary: 'Security audit trail',
  commands: { list },
};
