// What a failed sign-in stores about the email that was typed. An existing
// account is named by its id (the subject column), like every other event.
// An email that matches no account is sensitive: it may be a typo of a real
// address, someone else's address, or a password typed into the wrong field.
// It is kept only as a keyed digest (HMAC-SHA256 under a key derived from the
// master secret): repeated attempts on the same unknown address still line up
// (credential stuffing shows as many digests, guessing as one), while the
// table alone, without the master secret, cannot be turned back into
// addresses by hashing a list of likely emails.
import { createHmac, hkdfSync } from 'node:crypto';

const INFO = 'latchkey audit login identifier v1';

export function createLoginIdentifierDigest(masterSecret: string): (email: string) => string {
  const key = Buffer.from(hkdfSync('sha256', masterSecret, '', INFO, 32));
  return (email) =>
    createHmac('sha256', key)
      .update(email.trim().toLowerCase(), 'utf8')
      .digest('hex')
      // 128 bits: collisions stay out of reach, and the column stays short.
      .slice(0, 32);
}
