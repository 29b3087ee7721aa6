// Seals a value under a key derived from a bearer value the database keeps
// only as a digest (artifact-key.ts): whoever presents that bearer value can
// open it, a copy of the database cannot. AES-256-GCM, the key from HKDF-SHA256
// of the bearer value, the row's `context` bound as additional data so a
// sealed value copied to another row does not open. Used for the bearer values
// an interaction's payload names (its session's cookie value, its PAR, its
// device code) and for a device code's id, sealed for its user code.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'b1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Fixed, public labels: they keep this key apart from the artifact's digest and from anything else derived from it.
const HKDF_SALT = 'latchkey/bearer-seal/v1';
const HKDF_INFO = 'latchkey: AES-256-GCM key for values only the bearer may read';

const keyOf = (bearer: string) => Buffer.from(hkdfSync('sha256', bearer, HKDF_SALT, HKDF_INFO, 32));

export function sealForBearer(bearer: string, plaintext: string, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(bearer), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The plaintext, or undefined when `sealed` is not one of ours or was sealed for another bearer or row. */
export function openForBearer(bearer: string, sealed: string, context: string): string | undefined {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
  const iv = Buffer.from(parts[1]!, 'base64url');
  const tag = Buffer.from(parts[3]!, 'base64url');
  // Node accepts GCM tags down to 4 bytes unless told otherwise; insist on the full 16.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(bearer), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(parts[2]!, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
