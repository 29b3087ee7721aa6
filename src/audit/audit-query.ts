// Turns what an operator types for `audit list` (--since 1h, --type login.*,
// --limit 20) into a query, or an InvalidInputError naming the bad option
// (not its value, which could be anything pasted in the wrong place).
import { InvalidInputError } from '../errors.ts';
import { AUDIT_EVENT_TYPES, isAuditEventType } from './audit-event.ts';
import type { AuditQuery } from './audit-repository.ts';

export interface AuditListInput {
  /** An ISO 8601 instant, or a span back from now: 30m, 1h, 7d, 2w. */
  readonly since?: string;
  /** Exact types, or a group as "login.*". */
  readonly types?: readonly string[];
  readonly limit?: number;
}

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 1000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const GROUPS = new Set(AUDIT_EVENT_TYPES.filter((type) => type.includes('.')).map((type) => type.slice(0, type.indexOf('.'))));

export function parseAuditQuery(input: AuditListInput, now: Date): AuditQuery {
  const limit = input.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidInputError(`--limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`, { field: 'limit' });
  }
  const types = input.types?.map((raw) => raw.trim());
  for (const type of types ?? []) {
    const group = type.endsWith('.*') ? type.slice(0, -2) : undefined;
    if (group !== undefined ? !GROUPS.has(group) : !isAuditEventType(type)) {
      throw new InvalidInputError(`--type names no known event type; known types: ${AUDIT_EVENT_TYPES.join(', ')} (or a group such as login.*)`, { field: 'type' });
    }
  }
  return {
    ...(input.since !== undefined && { since: parseSince(input.since, now) }),
    ...(types?.length && { types }),
    limit,
  };
}

export function parseSince(raw: string, now: Date): Date {
  const value = raw.trim();
  const span = /^(\d{1,6})([smhdw])$/.exec(value);
  if (span) return new Date(now.getTime() - Number(span[1]) * UNIT_MS[span[2]!]!);
  // A date, or a date and time; Date.parse alone would also take "March 7".
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const at = new Date(value);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new InvalidInputError(`--since is neither an ISO 8601 date/time (2026-11-29T10:00:00Z) nor a span such as 30m, 1h, 7d, 2w`, { field: 'since' });
}
