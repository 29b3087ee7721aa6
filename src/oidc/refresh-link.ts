// The link from a refresh token to its successor, by which a retry inside
// LATCHKEY_REFRESH_REUSE_GRACE finds the successor (refresh-retries.ts): the
// successor's id XORed with a keystream that only the holder of the token
// it replaced can make, SHAKE256 of that token under a label of its own.
// The database keeps both tokens only as digests (artifact-key.ts), so a
// copy of it cannot open the link.
//
// Not bearer-seal.ts's AES-256-GCM, because of what it cost: in the server,
// while the thread pool signs ID tokens, its randomBytes, hkdfSync and
// createCipheriv took ~70 µs of the main thread a refresh (OpenSSL's shared
// locks; 29, 27 and 15 µs by the CPU profile, against 11 µs for all three
// alone), 5 to 8% of a refresh's CPU time in alternating runs. One hash
// costs a few µs. What GCM gave, this keeps:
// - secrecy: the keystream is an extendable-output hash of a random value of
//   256 bits (oidc-provider's token ids), which nobody without the token can
//   compute; the label keeps it apart from the token's digest;
// - a keystream never used twice: a refresh token is consumed once (the
//   conditional consume, single-use-grants.ts), so it seals one successor;
// - integrity and binding to the row: openLink answers only a value whose
//   digest is the row's key, so a link altered, forged or copied to another
//   row opens to nothing.
import { createHash } from 'node:crypto';
import { artifactKey } from './artifact-key.ts';

/** A version, so that links of another format are recognised as not ours (they open to nothing). */
const PREFIX = 'l1.';
// Fixed and public: keeps this keystream apart from anything else derived from the token.
const LABEL = 'latchkey/refresh-link/v1\0';

function xorWithKeystream(predecessor: string, data: Buffer): Buffer {
  const keystream = createHash('shake256', { outputLength: data.length }).update(LABEL).update(predecessor, 'utf8').digest();
  for (let i = 0; i < data.length; i++) data[i]! ^= keystream[i]!;
  return data;
}

/** The successor's id, sealed so that only the holder of `predecessor` can open it. */
export function sealLink(predecessor: string, successor: string): string {
  return PREFIX + xorWithKeystream(predecessor, Buffer.from(successor, 'utf8')).toString('base64url');
}

/** The successor `link` names, when `predecessor` opens it and the result is the row's (its digest is `successorKey`); else undefined. */
export function openLink(predecessor: string, link: string, successorKey: string): string | undefined {
  if (!link.startsWith(PREFIX)) return undefined;
  const successor = xorWithKeystream(predecessor, Buffer.from(link.slice(PREFIX.length), 'base64url')).toString('utf8');
  return artifactKey(successor) === successorKey ? successor : undefined;
}
