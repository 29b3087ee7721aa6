// The ways Latchkey itself ends an account's sessions (a password set or
// changed, an operator's revoke, the account page's "sign out everywhere
// else", an account deleted), each queueing the back-channel logouts those
// sessions owe before deleting them: the artifact repository's calls of the
// same names, with that one step in front. Queued first, so a failure leaves
// the sessions as they were; and a delete that fails after the queueing costs
// an RP at worst a logout for a session that lives on, never a session ended
// without one.
import type { ArtifactRepository } from '../oidc/artifact-repository.ts';
import type { LogoutNotices } from './logout-notices.ts';
import type { SessionEndTrigger } from './logout-outbox-repository.ts';

export interface SessionEndsDeps {
  readonly artifacts: Pick<ArtifactRepository, 'listSessionClients' | 'revokeByAccountId' | 'revokeByAccountIdExceptSession' | 'endSessionsExcept'>;
  readonly notices: Pick<LogoutNotices, 'queue'>;
  readonly now?: () => Date;
}

export function createSessionEnds({ artifacts, notices, now = () => new Date() }: SessionEndsDeps) {
  return {
    /** Every session, grant, code and token of the account (artifact-repository.ts), after queueing every session's logouts. */
    async revokeByAccountId(accountId: string, trigger: SessionEndTrigger = 'sessions_revoked'): Promise<number> {
      await notices.queue(await artifacts.listSessionClients(accountId, { liveAt: now() }), trigger);
      return artifacts.revokeByAccountId(accountId);
    },

    /** The same but the session with uid `keepUid`, which owes no logout. */
    async revokeByAccountIdExceptSession(accountId: string, keepUid: string, trigger: SessionEndTrigger = 'password_changed'): Promise<number> {
      await notices.queue(await artifacts.listSessionClients(accountId, { exceptUid: keepUid, liveAt: now() }), trigger);
      return artifacts.revokeByAccountIdExceptSession(accountId, keepUid);
    },

    /** The account's sessions but the one with uid `keepUid` (grants and tokens stay). */
    async endSessionsExcept(accountId: string, keepUid: string, trigger: SessionEndTrigger = 'sessions_ended'): Promise<number> {
      await notices.queue(await artifacts.listSessionClients(accountId, { exceptUid: keepUid, liveAt: now() }), trigger);
      return artifacts.endSessionsExcept(accountId, keepUid);
    },
  };
}

export type SessionEnds = ReturnType<typeof createSessionEnds>;
