// Queues back-channel logouts: given the clients of sessions that have just
// ended, keeps those registered with a backchannel_logout_uri, stores one
// LogoutOutbox row for each (session, client), records
// backchannel_logout.queued for each, and wakes this instance's sender. Every
// end of a session comes through here: RP-initiated logout (oidc-provider's
// own logout-token POST, caught in provider-logout-tokens.ts) and the ends
// Latchkey makes itself (session-ends.ts).
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { LogoutOutboxRepository, NewLogoutNotice, SessionEndTrigger } from './logout-outbox-repository.ts';

/** A client the ended session was signed in to, and the sid it was given there. */
export interface SessionClient {
  readonly clientId: string;
  readonly accountId: string;
  readonly sid: string | null;
}

export interface LogoutNoticesDeps {
  readonly repository: Pick<LogoutOutboxRepository, 'insertMany'>;
  /** The client registry (client-service.ts): built-in and deleted clients answer undefined. */
  readonly clients: { findProviderMetadata(clientId: string): Promise<{ readonly backchannel_logout_uri?: string } | undefined> };
  readonly audit: { record(event: AuditEventInput): void };
  /** Told after rows were stored (the server wakes its sender; the CLI leaves them to the servers). */
  readonly onQueued?: () => void;
  readonly now?: () => Date;
}

export function createLogoutNotices({ repository, clients, audit, onQueued, now = () => new Date() }: LogoutNoticesDeps) {
  return {
    /** Queues a logout for each client of `ended` that takes them; resolves with how many were queued. */
    async queue(ended: readonly SessionClient[], trigger: SessionEndTrigger): Promise<number> {
      const unique = [...new Map(ended.map((entry) => [JSON.stringify([entry.clientId, entry.accountId, entry.sid]), entry])).values()];
      const wanted = new Map<string, boolean>();
      for (const { clientId } of unique) {
        if (!wanted.has(clientId)) wanted.set(clientId, Boolean((await clients.findProviderMetadata(clientId))?.backchannel_logout_uri));
      }
      const notices: NewLogoutNotice[] = unique.filter((entry) => wanted.get(entry.clientId)).map((entry) => ({ ...entry, trigger }));
      if (!notices.length) return 0;
      const ids = await repository.insertMany(notices, now());
      notices.forEach((notice, index) =>
        audit.record({ type: 'backchannel_logout.queued', subject: notice.accountId, clientId: notice.clientId, details: { notice: ids[index]!, trigger } }),
      );
      onQueued?.();
      return notices.length;
    },
  };
}

export type LogoutNotices = ReturnType<typeof createLogoutNotices>;
