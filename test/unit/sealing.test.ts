import { describe, expect, it } from 'vitest';
import { KeyUnavailableError } from '../../src/errors.ts';
import { createSealer } from '../../src/keys/sealing.ts';

const SECRET = 'a-master-secret-that-is-long-enough-0123456789';
const OTHER_SECRET = 'another-master-secret-that-is-long-enough-987654';
const PLAINTEXT = JSON.stringify({ kty: 'EC', d: 'super-private-scalar-value', kid: 'kid-1' });

/** Flips one bit of the base64url part at `index` (1 iv, 2 ciphertext, 3 tag). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0]! ^= 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('sealing', () => {
  const sealer = createSealer(SECRET);

  it('round-trips, in the versioned format, without the plaintext in the output', () => {
    const sealed = sealer.seal(PLAINTEXT, 'kid-1');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain('super-private');
    expect(sealer.open(sealed, 'kid-1')).toBe(PLAINTEXT);
  });

  it('round-trips the empty string and non-ASCII text', () => {
    for (const text of ['', 'clé ünïcødé 🔑']) {
      expect(sealer.open(sealer.seal(text, 'ctx'), 'ctx')).toBe(text);
    }
  });

  it('uses a fresh IV each time, so equal plaintexts seal differently', () => {
    expect(sealer.seal(PLAINTEXT, 'kid-1')).not.toBe(sealer.seal(PLAINTEXT, 'kid-1'));
  });

  it('opens with a second sealer built from the same secret (another process)', () => {
    expect(createSealer(SECRET).open(sealer.seal(PLAINTEXT, 'kid-1'), 'kid-1')).toBe(PLAINTEXT);
  });

  const sealed = sealer.seal(PLAINTEXT, 'kid-1');
  const [, iv, ciphertext, tag] = sealed.split('.');
  const cases: Array<{ name: string; open: () => string }> = [
    { name: 'wrong secret', open: () => createSealer(OTHER_SECRET).open(sealed, 'kid-1') },
    { name: 'wrong context (blob moved to another row)', open: () => sealer.open(sealed, 'kid-2') },
    { name: 'empty context', open: () => sealer.open(sealed, '') },
    { name: 'tampered iv', open: () => sealer.open(tamper(sealed, 1), 'kid-1') },
    { name: 'tampered ciphertext', open: () => sealer.open(tamper(sealed, 2), 'kid-1') },
    { name: 'tampered tag', open: () => sealer.open(tamper(sealed, 3), 'kid-1') },
    { name: 'truncated tag (GCM would accept 4+ bytes)', open: () => sealer.open(`v1.${iv}.${ciphertext}.${tag!.slice(0, 8)}`, 'kid-1') },
    { name: 'short iv', open: () => sealer.open(`v1.${iv!.slice(0, 8)}.${ciphertext}.${tag}`, 'kid-1') },
    { name: 'unknown version', open: () => sealer.open(sealed.replace(/^v1\./, 'v2.'), 'kid-1') },
    { name: 'no version', open: () => sealer.open(sealed.slice(3), 'kid-1') },
    { name: 'extra part', open: () => sealer.open(`${sealed}.AAAA`, 'kid-1') },
    { name: 'not base64url', open: () => sealer.open(`v1.${iv}.${ciphertext}+/=.${tag}`, 'kid-1') },
    { name: 'plaintext stored by mistake', open: () => sealer.open(PLAINTEXT, 'kid-1') },
    { name: 'empty string', open: () => sealer.open('', 'kid-1') },
  ];

  it.each(cases)('refuses: $name', ({ open }) => {
    let caught: unknown;
    try {
      open();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KeyUnavailableError);
    const error = caught as KeyUnavailableError;
    expect(error.code).toBe('key_unavailable');
    expect(error.expose).toBe(false);
    for (const material of [SECRET, OTHER_SECRET, 'super-private', ciphertext!, tag!, iv!]) {
      expect(error.message).not.toContain(material);
    }
    expect(error.cause).toBeUndefined();
  });
});
