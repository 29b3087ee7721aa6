// Moves the key material at rest from one master secret to another: every
// signing key (retired ones too) and every cookie key is opened with the
// previous secret and sealed again with the current one, in one transaction
// under the key-set lock. The keys themselves do not change, so tokens,
// JWKS and sessions carry on. A row that the current secret already opens
// is left alone, so a rotation interrupted or run twice finishes cleanly;
// a row neither opens stops the whole rotation before anything is written.
import { KeyUnavailableError } from '../errors.ts';
import type { KeyRepository } from './key-repository.ts';
import { cookieContext, signingContext } from './key-service.ts';
import type { Sealer } from './sealing.ts';

export interface SecretRotationResult {
  /** Keys sealed again under the current secret. */
  readonly resealed: number;
  /** Keys the current secret already opened. */
  readonly alreadyCurrent: number;
}

export function createSecretRotation({ keys, current }: { keys: KeyRepository; current: Sealer }) {
  /** The plaintext and whether it still needs re-sealing; throws when neither secret opens it. */
  function openEither(previous: Sealer, sealed: string, context: string, what: string): { plaintext: string; stale: boolean } {
    try {
      return { plaintext: current.open(sealed, context), stale: false };
    } catch {
      try {
        return { plaintext: previous.open(sealed, context), stale: true };
      } catch {
        throw new KeyUnavailableError(`${what} opens with neither the previous secret given nor LATCHKEY_SECRET; nothing was changed`);
      }
    }
  }

  return {
    async rotate(previous: Sealer): Promise<SecretRotationResult> {
      return keys.withKeySetLock(async (locked) => {
        const signing = (await locked.listSigningKeys()).map((row) => ({
          row,
          ...openEither(previous, row.sealedPrivate, signingContext(row.kid), `signing key ${row.kid}`),
        }));
        const cookies = (await locked.listCookieKeys()).map((row) => ({
          row,
          ...openEither(previous, row.sealedValue, cookieContext(row.id), `cookie key ${row.id}`),
        }));
        let resealed = 0;
        for (const { row, plaintext, stale } of signing) {
          if (!stale) continue;
          await locked.resealSigningKey(row.kid, current.seal(plaintext, signingContext(row.kid)));
          resealed += 1;
        }
        for (const { row, plaintext, stale } of cookies) {
          if (!stale) continue;
          await locked.resealCookieKey(row.id, current.seal(plaintext, cookieContext(row.id)));
          resealed += 1;
        }
        return { resealed, alreadyCurrent: signing.length + cookies.length - resealed };
      });
    },
  };
}

export type SecretRotation = ReturnType<typeof createSecretRotation>;
