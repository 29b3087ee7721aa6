// Client secrets: generated here, stored only as a digest, compared in
// constant time. Secrets are 256 random bits, so a fast hash (SHA-256) is
// enough to make a leaked digest useless; a slow password hash would only add
// latency to every token request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_BYTES = 32;
const HEX_DIGEST = /^[0-9a-f]{64}$/;

/** 32 random bytes, base64url: what a confidential client is handed once. */
export function generateClientSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** Lower-case hex SHA-256 of the secret: the only form that is stored. */
export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `presented` hashes to `digest`; false (never a throw) for a malformed digest. */
export function clientSecretMatches(presented: string, digest: string): boolean {
  if (!HEX_DIGEST.test(digest)) return false;
  // Both sides are 32-byte digests, so the comparison leaks neither length nor content.
  return timingSafeEqual(Buffer.from(hashClientSecret(presented), 'hex'), Buffer.from(digest, 'hex'));
}
