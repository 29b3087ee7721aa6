// What `latchkey audit list` accepts for --since, --type and --limit, and the
// pieces of an event that are computed: time-ordered ids and the keyed digest
// of an unknown sign-in email.
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES, auditEventId } from '../../src/audit/audit-event.ts';
import { DEFAULT_LIST_LIMIT, parseAuditQuery, type AuditListInput } from '../../src/audit/audit-query.ts';
import { createLoginIdentifierDigest } from '../../src/audit/login-identifier.ts';
import { LatchkeyError } from '../../src/errors.ts';

const NOW = new Date('2026-11-29T12:00:00.000Z');

describe('audit list query', () => {
  it.each([
    ['30s', '2026-11-29T11:59:30.000Z'],
    ['30m', '2026-11-29T11:30:00.000Z'],
    ['1h', '2026-11-29T11:00:00.000Z'],
    ['7d', '2026-11-22T12:00:00.000Z'],
    ['2w', '2026-11-15T12:00:00.000Z'],
    [' 1h ', '2026-11-29T11:00:00.000Z'],
    ['2026-11-28', '2026-11-28T00:00:00.000Z'],
    ['2026-11-28T10:15:00Z', '2026-11-28T10:15:00.000Z'],
    ['2026-11-28T10:15:00.250+02:00', '2026-11-28T08:15:00.250Z'],
  ])('--since %j starts at %s', (since, expected) => {
    expect(parseAuditQuery({ since }, NOW).since?.toISOString()).toBe(expected);
  });

  it('defaults to the newest 50 events of every type, from any time', () => {
    expect(parseAuditQuery({}, NOW)).toEqual({ limit: DEFAULT_LIST_LIMIT });
    expect(DEFAULT_LIST_LIMIT).toBe(50);
  });

  it('accepts every known type, and a group written as group.*', () => {
    expect(parseAuditQuery({ types: [...AUDIT_EVENT_TYPES] }, NOW).types).toEqual(AUDIT_EVENT_TYPES);
    expect(parseAuditQuery({ types: ['login.*', 'refresh_token.*', 'key.*'], limit: 1000 }, NOW)).toEqual({ types: ['login.*', 'refresh_token.*', 'key.*'], limit: 1000 });
  });

  it.each([
    ['a span without a unit', { since: '1' }],
    ['an unknown unit', { since: '1y' }],
    ['a negative span', { since: '-1h' }],
    ['words', { since: 'yesterday' }],
    ['a date Date.parse would take loosely', { since: 'March 7, 2026' }],
    ['an impossible date', { since: '2026-13-45' }],
    ['an empty value', { since: '' }],
    ['an unknown type', { types: ['login.typo'] }],
    ['an unknown group', { types: ['nope.*'] }],
    ['a wildcard that is not a group', { types: ['*'] }],
    ['an empty type', { types: [''] }],
    ['a limit of zero', { limit: 0 }],
    ['a limit past the maximum', { limit: 1001 }],
    ['a limit that is not a whole number (the CLI passes NaN)', { limit: Number.NaN }],
    ['a fractional limit', { limit: 2.5 }],
  ] as [string, AuditListInput][])('refuses %s with invalid_input, without echoing it', (_case, input) => {
    let caught: unknown;
    try {
      parseAuditQuery(input, NOW);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LatchkeyError);
    expect((caught as LatchkeyError).code).toBe('invalid_input');
    const raw = input.since ?? input.types?.[0];
    if (raw && raw.length > 2) expect((caught as Error).message).not.toContain(raw);
  });
});

describe('audit event ids', () => {
  it('are UUIDv7 strings that sort in recording order, even within one millisecond', () => {
    const at = new Date('2026-11-29T12:00:00.000Z');
    const ids = Array.from({ length: 200 }, () => auditEventId(at));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    const later = auditEventId(new Date(at.getTime() + 1));
    expect(later > ids.at(-1)!).toBe(true);
    expect(parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16)).toBe(at.getTime());
  });
});

describe('digest of an unknown sign-in email', () => {
  const secret = 'a-master-secret-of-at-least-32-characters!';
  const digest = createLoginIdentifierDigest(secret);

  it('is the same for the same address however it was typed, and different for another', () => {
    expect(digest('Eve@Example.test ')).toBe(digest('eve@example.test'));
    expect(digest('eve@example.test')).not.toBe(digest('eva@example.test'));
    expect(digest('eve@example.test')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is keyed: another master secret gives another digest, and it is no plain hash of the address', async () => {
    const { createHash } = await import('node:crypto');
    const other = createLoginIdentifierDigest('another-master-secret-of-32-characters!!');
    expect(other('eve@example.test')).not.toBe(digest('eve@example.test'));
    expect(createHash('sha256').update('eve@example.test').digest('hex')).not.toContain(digest('eve@example.test'));
  });
});
