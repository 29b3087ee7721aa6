// What an audit event is: its types, the fields every event may carry, and a
// time-ordered id. Events hold identifiers (account ids, client_ids, kids),
// never a token, secret, password or cookie; details are built field by field
// by the code that records them, never copied from a request.
import { randomUUID } from 'node:crypto';

export const AUDIT_EVENT_TYPES = [
  'login.success',
  'login.failure',
  'logout',
  'consent.granted',
  'consent.denied',
  'token.issued',
  // RFC 8693: a service (the actor) exchanged a person's access token for one for another service.
  'token.exchanged',
  'refresh_token.reuse_detected',
  'authorization_code.reuse_detected',
  'device_code.reuse_detected',
  // The device flow's verification page (/device): the person approved the device, or cancelled.
  'device.approved',
  'device.denied',
  'client.created',
  'client.deleted',
  'client.secret_rotated',
  'client.updated',
  // Dynamic client registration (RFC 7591/7592, src/registration/): a client registered over /reg, its initial access tokens made and revoked by the CLI.
  'client.registered',
  'registration_token.created',
  'registration_token.revoked',
  'user.created',
  'user.disabled',
  'user.enabled',
  'user.password_set',
  // The Admin API: name or email changed, every session and grant ended by an operator.
  'user.updated',
  'user.sessions_revoked',
  // The admin-console role (admin, viewer, none); details: { role, previous }.
  'user.role_changed',
  'resource.created',
  'resource.deleted',
  'resource.updated',
  'key.rotated',
  'key.retired',
  'secret.rotated',
  // Passkeys: registered and removed on the account page, used to sign in (the actor is the account).
  'passkey.registered',
  'passkey.removed',
  'passkey.signed_in',
  'passkey.failed',
  // Self-service (sign-up, mail links, the account page); the actor is the account, or "cli".
  'account.signup',
  'account.verification_sent',
  'account.email_verified',
  'account.password_reset_requested',
  'account.password_reset_completed',
  'account.invited',
  'account.invitation_accepted',
  'account.email_change_requested',
  'account.email_changed',
  'account.name_changed',
  'account.password_changed',
  'account.grant_revoked',
  'account.sessions_ended',
  'account.deleted',
  'account.limited',
  'mfa.totp_enrolled',
  'mfa.totp_removed',
  'mfa.recovery_codes_generated',
  'mfa.recovery_code_used',
  'mfa.verified',
  'mfa.failed',
  'mfa.reset',
  // Back-Channel Logout (src/backchannel/): a logout token owed to a client (subject: the account, clientId: the client;
  // details: notice id and trigger), delivered, or given up (details: attempts and the error code).
  'backchannel_logout.queued',
  'backchannel_logout.delivered',
  'backchannel_logout.failed',
  // Upstream identity providers (src/federation/): an upstream identity linked to an account or unlinked
  // (the account page), a sign-in through one (the actor is the account), and a federated sign-in that failed
  // (details say which provider and why); the providers themselves, created, changed and deleted by the CLI.
  'federation.linked',
  'federation.unlinked',
  'federation.signed_in',
  'federation.failed',
  'idp.created',
  'idp.updated',
  'idp.deleted',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Who acted when it was not a person or a client: the CLI, or the server's own key schedule. */
export const CLI_ACTOR = 'cli';
export const SCHEDULE_ACTOR = 'schedule';

export type AuditDetailValue = string | number | boolean | null | readonly string[];

export interface AuditEventInput {
  readonly type: AuditEventType;
  /** Who acted: an account id, a client_id, "cli" or "schedule". */
  readonly actor?: string | null;
  /** What was acted on: an account id, a client_id, a resource identifier, a kid. */
  readonly subject?: string | null;
  readonly clientId?: string | null;
  readonly ip?: string | null;
  readonly details?: Readonly<Record<string, AuditDetailValue>>;
  /** Goes to the log line only, to find the request's other lines; not stored. */
  readonly requestId?: string;
}

export interface AuditEvent {
  readonly id: string;
  readonly type: string;
  readonly at: Date;
  readonly actor: string | null;
  readonly subject: string | null;
  readonly clientId: string | null;
  readonly ip: string | null;
  readonly details: Readonly<Record<string, AuditDetailValue>> | null;
}

export function isAuditEventType(value: string): value is AuditEventType {
  return (AUDIT_EVENT_TYPES as readonly string[]).includes(value);
}

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7: 48 bits of Unix milliseconds, then a per-process counter and
 * random bits. Ids sort in recording order within a process, so `audit list`
 * is stable for events recorded in the same millisecond.
 */
export function auditEventId(at: Date): string {
  const ms = at.getTime();
  if (ms === lastMs) {
    sequence = (sequence + 1) & 0xfff;
  } else {
    lastMs = ms;
    sequence = 0;
  }
  // randomUUID draws from Node's pooled entropy; randomBytes(16) was a
  // system call per event, on every token issued. Its last 64 bits (variant
  // bits included) are the random part a UUIDv7 needs.
  const random = randomUUID().slice(19);
  const hex = ms.toString(16).padStart(12, '0') + (0x7000 | sequence).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${random}`;
}
