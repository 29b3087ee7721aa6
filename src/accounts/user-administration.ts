// What an operator does to end-user accounts through the Admin API: list
// and search, read, create (with a password, or an invitation when mail can
// be sent), edit with a version check, set a password, end every session
// and grant, reset the second factors, list the grants. The rules stay
// where they were (account-service.ts, invitation.ts, second-factor-reset.ts,
// the artifact repository); this adds the operator's view of an account
// (its second factors) and records every change as an audit event by the
// actor the caller names (the admin token's client_id or sub).
import type { AuditEventInput } from '../audit/audit-event.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { MailService } from '../mail/mail-service.ts';
import type { SecondFactorReset } from '../mfa/second-factor-reset.ts';
import { NO_SECOND_FACTORS, type SecondFactorSummaries, type SecondFactorSummary } from '../mfa/second-factor-summary.ts';
import type { AccountGrant, ArtifactRepository } from '../oidc/artifact-repository.ts';
import type { AccountArtifacts, AccountEditInput, AccountService, AccountView } from './account-service.ts';
import type { Invitations } from './invitation.ts';

/** An account as an operator sees it: never a password hash, never a factor's secret. */
export interface UserRecord extends AccountView {
  readonly mfa: SecondFactorSummary;
}

export interface UserPage {
  readonly users: readonly UserRecord[];
  /** The id to continue after, or null on the last page. */
  readonly nextAfterId: string | null;
}

export interface NewUserInput {
  readonly email: string;
  readonly name?: string;
  /** Absent: an invitation is mailed instead (only where mail can be sent). */
  readonly password?: string;
}

export interface NewUser {
  readonly user: UserRecord;
  /** True when an invitation was queued instead of a password being set. */
  readonly invited: boolean;
}

export interface UserAdministrationDeps {
  readonly accounts: AccountService;
  readonly artifacts: Pick<AccountArtifacts, 'revokeByAccountId'> & Pick<ArtifactRepository, 'listGrants'>;
  readonly secondFactors: SecondFactorSummaries;
  readonly secondFactorReset: SecondFactorReset;
  readonly invitations: Invitations;
  /** Where invitations are queued; null when no mail can be sent (then a new user needs a password). */
  readonly mail: Pick<MailService, 'enqueue'> | null;
  /** Records without waiting (the server's buffered audit). */
  readonly audit: { record(event: AuditEventInput): void };
}

/** Who made a change (and from where): recorded on its audit event. */
export type Actor = Pick<AuditEventInput, 'actor' | 'ip' | 'requestId'>;

export function createUserAdministration({ accounts, artifacts, secondFactors, secondFactorReset, invitations, mail, audit }: UserAdministrationDeps) {
  async function withFactors(views: readonly AccountView[]): Promise<UserRecord[]> {
    const factors = await secondFactors.of(views.map((view) => view.id));
    return views.map((view) => ({ ...view, mfa: factors.get(view.id) ?? NO_SECOND_FACTORS }));
  }

  async function existing(id: string): Promise<AccountView> {
    const account = await accounts.findById(id);
    if (!account) throw new NotFoundError(`account ${id} does not exist`);
    return account;
  }

  async function one(view: AccountView): Promise<UserRecord> {
    return (await withFactors([view]))[0]!;
  }

  return {
    /** A page in id order; `limit` rows at most, and whether there are more (one extra row is read to know). */
    async list({ emailPrefix, afterId, limit }: { emailPrefix?: string; afterId?: string; limit: number }): Promise<UserPage> {
      const rows = await accounts.page({ ...(emailPrefix !== undefined && { emailPrefix }), ...(afterId !== undefined && { afterId }), limit: limit + 1 });
      const page = rows.slice(0, limit);
      return { users: await withFactors(page), nextAfterId: rows.length > limit ? page.at(-1)!.id : null };
    },

    async get(id: string): Promise<UserRecord> {
      return one(await existing(id));
    },

    /**
     * With a password: the account, its password set (the policy applies).
     * Without: an invitation to choose one, when mail can be sent; otherwise
     * refused, naming `password`.
     */
    async create(input: NewUserInput, by: Actor): Promise<NewUser> {
      const name = input.name !== undefined ? { name: input.name } : {};
      if (input.password !== undefined) {
        const account = await accounts.create({ email: input.email, ...name, password: input.password });
        audit.record({ ...by, type: 'user.created', subject: account.id });
        return { user: await one(account), invited: false };
      }
      if (!mail) throw new InvalidInputError('password is required: no mail server is configured (LATCHKEY_SMTP_URL) to send an invitation', { field: 'password' });
      const { account, mailQueued } = await invitations.invite({ email: input.email, ...name }, mail);
      audit.record({ ...by, type: 'account.invited', subject: account.id, details: { mailQueued } });
      return { user: await one(account), invited: true };
    },

    /** Name, email, disabled, role; with `version` (an If-Match), only from that version (PreconditionFailedError otherwise). */
    async edit(id: string, input: AccountEditInput, { version, ...by }: { readonly version?: string | undefined } & Actor): Promise<UserRecord> {
      const before = await existing(id);
      const after = await accounts.edit(id, input, { version });
      const changed = (['name', 'email'] as const).filter((field) => before[field] !== after[field]);
      if (changed.length) audit.record({ ...by, type: 'user.updated', subject: id, details: { fields: changed } });
      if (before.disabled !== after.disabled) audit.record({ ...by, type: after.disabled ? 'user.disabled' : 'user.enabled', subject: id });
      // As `latchkey user set-role` records it.
      if (before.role !== after.role) audit.record({ ...by, type: 'user.role_changed', subject: id, details: { role: after.role, previous: before.role } });
      return one(after);
    },

    /** Replaces the password; every session, grant and token of the account ends (account-service.ts). */
    async setPassword(id: string, password: string, by: Actor): Promise<void> {
      await existing(id);
      const account = await accounts.setPassword(id, password);
      audit.record({ ...by, type: 'user.password_set', subject: account.id });
    },

    /** Ends every session of the account (each client told over the back channel), every grant and the codes and tokens issued under them. */
    async revokeSessions(id: string, by: Actor): Promise<number> {
      await existing(id);
      const revoked = await artifacts.revokeByAccountId(id, 'sessions_revoked');
      audit.record({ ...by, type: 'user.sessions_revoked', subject: id, details: { artifacts: revoked } });
      return revoked;
    },

    /** Removes the authenticator app, its recovery codes and the passkeys (as `latchkey user reset-mfa`). */
    async resetMfa(id: string, by: Actor): Promise<void> {
      await existing(id);
      const { hadApp, passkeysRemoved } = await secondFactorReset.reset(id);
      audit.record({ ...by, type: 'mfa.reset', subject: id, details: { hadApp, passkeysRemoved } });
    },

    /** What each client was allowed, newest first; a grant's key names it and opens nothing. */
    async grants(id: string): Promise<AccountGrant[]> {
      await existing(id);
      return artifacts.listGrants(id);
    },
  };
}

export type UserAdministration = ReturnType<typeof createUserAdministration>;
