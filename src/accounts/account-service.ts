// End-user accounts: creation, lookup, enabling/disabling, password changes
// and password sign-in. Password hashes never leave this module: every method
// returns an AccountView.
import { randomUUID } from 'node:crypto';
import type { SessionEndTrigger } from '../backchannel/logout-outbox-repository.ts';
import { compareAndSwap } from '../compare-and-swap.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { AlreadyExistsError, InvalidInputError, NotFoundError, PreconditionFailedError } from '../errors.ts';
import type { AccountEdit, AccountRepository, AccountRow } from './account-repository.ts';
import { parseAdminRole, toAdminRole, type AdminRole } from './admin-role.ts';
import { normaliseEmail, parseDisplayName, parsePictureUrl } from './account-validation.ts';
import { checkNewPassword, normalisePassword, SIGN_IN_PASSWORD_MAX_LENGTH } from './password-policy.ts';
import { createDecoyHash } from './decoy-hash.ts';
import type { PasswordHasher } from './password-hasher.ts';

export interface CreateAccountInput {
  readonly email: string;
  readonly name?: string;
  readonly password: string;
}

export interface AccountView {
  /** The stable, opaque subject identifier (`sub`). */
  readonly id: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string | null;
  /** A picture URL, from an upstream identity provider's claims (src/federation/). */
  readonly picture: string | null;
  readonly disabled: boolean;
  /** What the person may do in the admin console (accounts/admin-role.ts). */
  readonly role: AdminRole;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What the account's sign-ins left behind at the authorization server: sessions, grants, codes, tokens. */
export interface AccountArtifacts {
  /** Deletes them all; returns how many there were. `trigger` says why, to the back-channel logouts the sessions owe (backchannel/session-ends.ts). */
  revokeByAccountId(accountId: string, trigger?: SessionEndTrigger): Promise<number>;
  /** Deletes them all but the session with this uid (the browser that asked). */
  revokeByAccountIdExceptSession(accountId: string, keepUid: string, trigger?: SessionEndTrigger): Promise<number>;
}

/** An operator's change to an account (the Admin API's PATCH): absent fields stay, a null name clears it. */
export interface AccountEditInput {
  readonly name?: string | null;
  readonly email?: string;
  readonly disabled?: boolean;
  /** admin, viewer or none (accounts/admin-role.ts). */
  readonly role?: string;
}

export interface AccountPageInput {
  /** Compared with the stored (lower-case) email: normalised the same way first. */
  readonly emailPrefix?: string;
  /** The last id of the previous page. */
  readonly afterId?: string;
  readonly limit: number;
}

/** Runs a validation, its InvalidInputError naming `field` (the Admin API answers with the field's name). */
function naming<T>(field: string, validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof InvalidInputError && error.field === undefined) throw new InvalidInputError(error.message, { field });
    throw error;
  }
}

/** A person's first sign-in through an upstream identity provider, as its claims describe them. */
export interface FederatedAccountInput {
  readonly email: string;
  /** Whether the upstream says it verified the address. */
  readonly emailVerified: boolean;
  readonly name?: string | null;
  readonly picture?: string | null;
}

/** What an upstream's claims say at a later sign-in. */
export interface UpstreamProfile {
  readonly name?: string | null;
  readonly picture?: string | null;
  readonly email?: string | null;
  readonly emailVerified?: boolean;
}

/** An upstream's display name, or null when it is none to keep (upstream data: dropped, not refused). */
function upstreamName(name: string | null | undefined): string | null {
  try {
    return parseDisplayName(name ?? undefined);
  } catch {
    return null;
  }
}

/** What moving an account to a new address came to. */
export type EmailChange = { readonly ok: true; readonly oldEmail: string; readonly account: AccountView } | { readonly ok: false; readonly reason: 'taken' | 'missing' };

export interface AccountServiceDeps {
  readonly repository: AccountRepository;
  readonly hasher: PasswordHasher;
  readonly artifacts: AccountArtifacts;
}

export function createAccountService({ repository, hasher, artifacts }: AccountServiceDeps) {
  // Verified against when the email is unknown, so a miss costs as much as a
  // wrong password and response time does not reveal which emails exist.
  // It follows the stored hashes, so every write of one tells it.
  const decoy = createDecoyHash({ repository, hasher });

  async function findRowByEmail(raw: string): Promise<AccountRow | undefined> {
    let email: string;
    try {
      email = normaliseEmail(raw);
    } catch {
      return undefined;
    }
    return repository.findByEmail(email);
  }

  // Account ids are UUIDs, so anything with an @ is an email.
  function findRow(emailOrId: string): Promise<AccountRow | undefined> {
    return emailOrId.includes('@') ? findRowByEmail(emailOrId) : repository.findById(emailOrId);
  }

  async function update(emailOrId: string, changes: Parameters<AccountRepository['update']>[1]): Promise<AccountView> {
    const row = await findRow(emailOrId);
    const updated = row && (await repository.update(row.id, changes));
    if (!updated) throw new NotFoundError(`account ${emailOrId} does not exist`);
    if (changes.passwordHash) void decoy.refresh();
    return toView(updated);
  }

  return {
    /**
     * A new account, its email not yet verified. The password is hashed
     * before the email is looked up, so a taken email answers no sooner than
     * a free one (sign-up must not tell who has an account by its timing).
     */
    async create(input: CreateAccountInput): Promise<AccountView> {
      const email = naming('email', () => normaliseEmail(input.email));
      const name = naming('name', () => parseDisplayName(input.name));
      checkNewPassword(input.password);
      const passwordHash = await hasher.hash(normalisePassword(input.password));
      if (await repository.findByEmail(email)) throw new AlreadyExistsError(`an account with email ${email} already exists`);
      // The unique index still decides when two creations race.
      const row = await repository.insert({ id: randomUUID(), email, name, passwordHash });
      if (!row) throw new AlreadyExistsError(`an account with email ${email} already exists`);
      void decoy.refresh();
      return toView(row);
    },

    /**
     * An account for a person signing in through an upstream identity
     * provider for the first time: no password (they may set one through
     * "forgot password"), the email verified only when the upstream says so,
     * name and picture from its claims. A taken email is AlreadyExistsError,
     * as at sign-up: an existing account is linked only after its owner
     * proves it (the federation routes' part), never by email match.
     */
    async createFederated(input: FederatedAccountInput): Promise<AccountView> {
      const email = naming('email', () => normaliseEmail(input.email));
      if (await repository.findByEmail(email)) throw new AlreadyExistsError(`an account with email ${email} already exists`);
      const row = await repository.insert({
        id: randomUUID(),
        email,
        name: upstreamName(input.name),
        passwordHash: null,
        emailVerified: input.emailVerified === true,
        picture: parsePictureUrl(input.picture),
      });
      if (!row) throw new AlreadyExistsError(`an account with email ${email} already exists`);
      return toView(row);
    },

    /**
     * Brings the account up to date with the upstream's claims at a
     * federated sign-in. A name or picture the upstream sends replaces the
     * stored one (one it does not send, or an unfit one, leaves it). The
     * email moves only when the upstream says it verified the new address and
     * no other account has it; the same address, verified upstream, marks
     * the account's verified. NotFoundError when the account is gone.
     */
    async updateProfileFromUpstream(accountId: string, profile: UpstreamProfile): Promise<AccountView> {
      const row = await repository.findById(accountId);
      if (!row) throw new NotFoundError(`account ${accountId} does not exist`);
      const changes: { name?: string; picture?: string } = {};
      const name = upstreamName(profile.name);
      if (name !== null && name !== row.name) changes.name = name;
      const picture = parsePictureUrl(profile.picture);
      if (picture !== null && picture !== row.picture) changes.picture = picture;
      let current = row;
      if (Object.keys(changes).length > 0) current = (await repository.update(row.id, changes)) ?? current;
      if (profile.emailVerified === true && profile.email) {
        let email: string | undefined;
        try {
          email = normaliseEmail(profile.email);
        } catch {
          email = undefined;
        }
        if (email === current.email && !current.emailVerified) {
          await repository.markEmailVerified(row.id, email);
        } else if (email !== undefined && email !== current.email && !(await repository.findByEmail(email))) {
          // 'taken' (another account won the address meanwhile) leaves the account's own address.
          await repository.changeEmail(row.id, email);
        }
        current = (await repository.findById(row.id)) ?? current;
      }
      return toView(current);
    },

    async list(): Promise<AccountView[]> {
      return (await repository.list()).map(toView);
    },

    /** A page of accounts in id order (account-repository.ts's page), optionally only emails starting with a prefix. */
    async page({ emailPrefix, afterId, limit }: AccountPageInput): Promise<AccountView[]> {
      const prefix = emailPrefix?.trim().toLowerCase();
      if (prefix !== undefined && !isDatabaseText(prefix, 254)) throw new InvalidInputError('email_prefix is not a valid prefix', { field: 'email_prefix' });
      if (afterId !== undefined && !isDatabaseText(afterId, 64)) return [];
      return (await repository.page({ ...(prefix && { emailPrefix: prefix }), ...(afterId !== undefined && { afterId }), limit })).map(toView);
    },

    /**
     * An operator's edit: name, email (a new one is not verified: nobody
     * proved it), disabled. With `ifVersion` (the updatedAt the operator
     * saw), only while the row is still at that version: otherwise
     * PreconditionFailedError and nothing is written. A taken email is
     * AlreadyExistsError (the unique index decides, also in a race).
     */
    async edit(id: string, input: AccountEditInput, options: { readonly version?: string | undefined } = {}): Promise<AccountView> {
      const changes: { -readonly [K in keyof AccountEdit]: AccountEdit[K] } = {};
      if (input.name !== undefined) changes.name = input.name === null ? null : naming('name', () => parseDisplayName(input.name!));
      if (input.disabled !== undefined) changes.disabled = input.disabled;
      if (input.role !== undefined) changes.role = naming('role', () => parseAdminRole(input.role));
      const row = isDatabaseText(id, 64) ? await repository.findById(id) : undefined;
      if (!row) throw new NotFoundError(`account ${id} does not exist`);
      if (input.email !== undefined) {
        const email = naming('email', () => normaliseEmail(input.email!));
        if (email !== row.email) Object.assign(changes, { email, emailVerified: false });
      }
      let expected: Date | undefined;
      if (options.version !== undefined) {
        // A version is updatedAt in milliseconds (versionOf); anything else names no version this row ever had.
        if (!/^\d{1,15}$/.test(options.version)) throw new PreconditionFailedError(`account ${id} has changed since that version`);
        expected = new Date(Number(options.version));
      }
      const stale = () => new PreconditionFailedError(`account ${id} has changed since that version`);
      // With a version, the first lost race is a 412; without one, the edit is applied again to the newer row (compare-and-swap.ts).
      const edited = await compareAndSwap(
        options,
        async () => {
          const result = await repository.editIfUnchanged(id, changes, expected);
          switch (result.outcome) {
            case 'updated':
              return toView(result.row);
            case 'stale':
              return undefined;
            case 'missing':
              throw new NotFoundError(`account ${id} does not exist`);
            case 'taken':
              throw new AlreadyExistsError(`an account with email ${changes.email} already exists`);
          }
        },
        async () => ((await repository.findById(id)) ? stale() : new NotFoundError(`account ${id} does not exist`)),
      );
      // Disabled by an operator: what the account is signed in to ends with it, as with disable().
      if (changes.disabled === true && !row.disabled) await artifacts.revokeByAccountId(id, 'account_disabled');
      return edited;
    },

    /**
     * Whether the account has a password: false for one made by a federated
     * sign-in until it sets one (and for no account). Not on AccountView,
     * which goes out whole (CLI, Admin API) and says nothing of passwords.
     */
    async hasPassword(accountId: string): Promise<boolean> {
      const row = await repository.findById(accountId);
      return row !== undefined && row.passwordHash !== null;
    },

    async findById(id: string): Promise<AccountView | undefined> {
      const row = await repository.findById(id);
      return row && toView(row);
    },

    async findByEmail(email: string): Promise<AccountView | undefined> {
      const row = await findRowByEmail(email);
      return row && toView(row);
    },

    /** Refuses the account's sign-ins from now on and ends what it is signed in to: sessions (each client told over the back channel), grants, tokens. */
    async disable(emailOrId: string): Promise<AccountView> {
      const account = await update(emailOrId, { disabled: true });
      await artifacts.revokeByAccountId(account.id, 'account_disabled');
      return account;
    },

    enable(emailOrId: string): Promise<AccountView> {
      return update(emailOrId, { disabled: false });
    },

    /**
     * Sets the person's admin-console role (admin, viewer or none). It
     * bounds the admin scopes of their next token (oidc/role-scopes.ts),
     * refreshes included; tokens already issued keep theirs until they expire.
     */
    setRole(emailOrId: string, role: string): Promise<AccountView> {
      return update(emailOrId, { role: parseAdminRole(role) });
    },

    /**
     * Replaces the password and ends everything the old one let in: every
     * session of the account, every grant, and the codes, refresh and access
     * tokens issued under them (whoever knew the old password may hold any
     * of them). The password is changed first, so no sign-in with the old
     * one can start after the sweep.
     */
    async setPassword(emailOrId: string, password: string): Promise<AccountView> {
      checkNewPassword(password);
      const row = await findRow(emailOrId);
      if (!row) throw new NotFoundError(`account ${emailOrId} does not exist`);
      const account = await update(row.id, { passwordHash: await hasher.hash(normalisePassword(password)) });
      await artifacts.revokeByAccountId(row.id, 'password_set');
      return account;
    },

    /**
     * The account page's password change: the same rules and the same sweep
     * as setPassword, except that the session with uid `keepSessionUid` (the
     * browser that changed it, which has just proven the current password)
     * stays signed in. The current password is checked by the caller, behind
     * the login throttle (throttle/login-guard.ts).
     */
    async changePassword(accountId: string, password: string, keepSessionUid: string): Promise<AccountView> {
      checkNewPassword(password);
      const account = await update(accountId, { passwordHash: await hasher.hash(normalisePassword(password)) });
      await artifacts.revokeByAccountIdExceptSession(accountId, keepSessionUid, 'password_changed');
      return account;
    },

    /** Sets the display name (parseDisplayName's rules; empty clears it). */
    rename(accountId: string, name: string): Promise<AccountView> {
      return update(accountId, { name: parseDisplayName(name) });
    },

    /**
     * Moves the account to `email` and marks it verified: the change-email
     * link mailed there was just used. Refused when another account has
     * taken the address meanwhile.
     */
    async changeEmail(accountId: string, email: string): Promise<EmailChange> {
      const normalised = normaliseEmail(email);
      const row = await repository.findById(accountId);
      if (!row) return { ok: false, reason: 'missing' };
      const outcome = await repository.changeEmail(accountId, normalised);
      if (outcome !== 'changed') return { ok: false, reason: outcome };
      const updated = await repository.findById(accountId);
      if (!updated) return { ok: false, reason: 'missing' };
      return { ok: true, oldEmail: row.email, account: toView(updated) };
    },

    /**
     * Deletes the account: the row first, so no new sign-in can start, then
     * every session, grant, code and token it left behind. The caller
     * deletes its mailed links and records the audit event, which stays.
     */
    async delete(accountId: string): Promise<boolean> {
      const deleted = await repository.delete(accountId);
      await artifacts.revokeByAccountId(accountId, 'account_deleted');
      if (deleted) void decoy.refresh();
      return deleted;
    },

    /**
     * Marks `email` verified for the account, if it is still the account's
     * address. True when it did (or it already was).
     */
    markEmailVerified(accountId: string, email: string): Promise<boolean> {
      return repository.markEmailVerified(accountId, email);
    },

    /**
     * The enabled account with this email and password, or undefined. Hashes
     * made with weaker parameters, or of a password as typed before passwords
     * were normalised (NFKC), are re-made on a successful sign-in.
     */
    async authenticate(email: string, password: string): Promise<AccountView | undefined> {
      if (password.length > 4 * SIGN_IN_PASSWORD_MAX_LENGTH) return undefined;
      const normalised = normalisePassword(password);
      const row = await findRowByEmail(email);
      // No account, or one without a password (made by a federated sign-in):
      // the same refusal after the same work, so neither is told apart from
      // a wrong password.
      if (!row || row.passwordHash === null) {
        await hasher.verify(await decoy.hash(), normalised);
        return undefined;
      }
      const passwordHash = row.passwordHash;
      // A password set before normalisation was hashed as typed; only one
      // whose typed form differs from its NFKC form can be such a one.
      const current = await hasher.verify(passwordHash, normalised);
      const asTyped = !current && normalised !== password && (await hasher.verify(passwordHash, password));
      if (!(current || asTyped) || row.disabled) return undefined;
      if (asTyped || hasher.needsRehash(passwordHash)) {
        const upgraded = await repository.update(row.id, { passwordHash: await hasher.hash(normalised) });
        void decoy.refresh();
        return toView(upgraded ?? row);
      }
      return toView(row);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;

/** An account's version, for ETag and If-Match: its updatedAt in milliseconds, which every edit moves forward. */
export function versionOf(account: Pick<AccountView, 'updatedAt'>): string {
  return String(account.updatedAt.getTime());
}

function toView(row: AccountRow): AccountView {
  return {
    id: row.id,
    email: row.email,
    emailVerified: row.emailVerified,
    name: row.name,
    picture: row.picture,
    disabled: row.disabled,
    role: toAdminRole(row.role),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
