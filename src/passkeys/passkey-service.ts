// The rules of an account's passkeys: what a name may be, how many one
// account may have, who may remove which, and the sign counter. The WebAuthn
// ceremonies themselves (options, signatures, origins) are
// webauthn-ceremony.ts's; this module sees only their verified results.
import { InvalidInputError } from '../errors.ts';
import { isDatabaseText } from '../db/database-text.ts';
import type { PasskeyRepository, PasskeyRow } from './passkey-repository.ts';

/** Enough for every device a person owns, and a bound on what the page lists and excludes. */
export const MAX_PASSKEYS_PER_ACCOUNT = 20;
export const MAX_PASSKEY_NAME_LENGTH = 64;
/** The counter column is a 32-bit signed integer (WebAuthn's is unsigned): a counter past it is refused, never wrapped. */
const MAX_COUNTER = 2 ** 31 - 1;

export interface PasskeyView {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

export interface VerifiedCredential {
  readonly id: string;
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
}

export type UseOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: 'counter' | 'raced' };

export interface PasskeyServiceDeps {
  readonly repository: PasskeyRepository;
  readonly now?: () => Date;
}

const view = (row: PasskeyRow): PasskeyView => ({ id: row.id, accountId: row.accountId, name: row.name, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt });

/** A name as typed, trimmed and NFC; throws InvalidInputError when empty, too long or not storable. */
export function normalisePasskeyName(raw: unknown): string {
  const name = typeof raw === 'string' && raw.isWellFormed() ? raw.normalize('NFC').trim() : '';
  if (!isDatabaseText(name, MAX_PASSKEY_NAME_LENGTH) || /\p{Cc}/u.test(name)) throw new InvalidInputError('A passkey name is 1 to 64 characters, with no control characters.');
  return name;
}

export function createPasskeyService({ repository, now = () => new Date() }: PasskeyServiceDeps) {
  return {
    async list(accountId: string): Promise<PasskeyView[]> {
      return (await repository.listForAccount(accountId)).map(view);
    },

    /** The passkey and its public key, for a sign-in; undefined for an id no passkey has. */
    async findForSignIn(id: unknown): Promise<PasskeyRow | undefined> {
      // Credential ids are at most 1023 bytes: 1364 base64url characters.
      return isDatabaseText(id, 1400) ? repository.findById(id) : undefined;
    },

    /** Credentials the authenticator must not register again (the account's own). */
    async credentialsOf(accountId: string): Promise<{ id: string; transports?: string[] }[]> {
      return (await repository.listForAccount(accountId)).map((row) => ({ id: row.id, ...(row.transports ? { transports: JSON.parse(row.transports) as string[] } : {}) }));
    },

    /** Whether the account may register one more. */
    async hasRoom(accountId: string): Promise<boolean> {
      return (await repository.listForAccount(accountId)).length < MAX_PASSKEYS_PER_ACCOUNT;
    },

    /** Stores a verified new credential under `name` (already normalised); undefined when the credential is registered already. */
    async add(accountId: string, name: string, credential: VerifiedCredential): Promise<PasskeyView | undefined> {
      if (credential.counter > MAX_COUNTER) throw new InvalidInputError('The authenticator reported a counter out of range.');
      const at = now();
      const row = { id: credential.id, accountId, name, publicKey: credential.publicKey, counter: credential.counter, transports: credential.transports.length ? JSON.stringify(credential.transports) : null };
      // Taken: the same authenticator registered again (another account's, or a race of two tabs).
      if (!(await repository.insert(row, at))) return undefined;
      return { id: row.id, accountId, name, createdAt: at, lastUsedAt: null };
    },

    /** Removes the account's passkey; false when it has none with this id. */
    async remove(accountId: string, id: unknown): Promise<boolean> {
      return isDatabaseText(id, 1400) ? repository.deleteForAccount(accountId, id) : false;
    },

    removeAll(accountId: string): Promise<number> {
      return repository.deleteAllForAccount(accountId);
    },

    /**
     * Records a verified use that reported `counter`. An authenticator that
     * keeps a counter (either value non-zero) must report a larger one each
     * time: one that did not is a clone of the credential, or a replay, and
     * is refused. The update is conditional on the stored value, so two
     * parallel uses with the same counter cannot both pass.
     */
    async recordUse(passkey: PasskeyRow, counter: number): Promise<UseOutcome> {
      if ((passkey.counter > 0 || counter > 0) && counter <= passkey.counter) return { ok: false, reason: 'counter' };
      if (counter > MAX_COUNTER) return { ok: false, reason: 'counter' };
      return (await repository.recordUse(passkey.id, passkey.counter, counter, now())) ? { ok: true } : { ok: false, reason: 'raced' };
    },
  };
}

export type PasskeyService = ReturnType<typeof createPasskeyService>;
