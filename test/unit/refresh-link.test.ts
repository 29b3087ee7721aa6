import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { artifactKey } from '../../src/oidc/artifact-key.ts';
import { openLink, sealLink } from '../../src/oidc/refresh-link.ts';

// Refresh tokens as oidc-provider makes them: 43 base64url characters.
const token = () => randomBytes(32).toString('base64url');

describe('refresh link', () => {
  const predecessor = token();
  const successor = token();
  const link = sealLink(predecessor, successor);

  it('opens, for the token it was sealed for, to the successor, which it does not show', () => {
    // 43 characters of the token, in base64url: 58.
    expect(link).toMatch(/^l1\.[A-Za-z0-9_-]{58}$/);
    expect(link).not.toContain(successor);
    expect(openLink(predecessor, link, artifactKey(successor))).toBe(successor);
  });

  it('opens to nothing for another token, or on another row', () => {
    expect(openLink(token(), link, artifactKey(successor))).toBeUndefined();
    expect(openLink(predecessor, link, artifactKey(token()))).toBeUndefined();
  });

  it('opens to nothing once altered, shortened or lengthened', () => {
    const bytes = Buffer.from(link.slice(3), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i]! ^= 0x01;
      expect(openLink(predecessor, `l1.${altered.toString('base64url')}`, artifactKey(successor))).toBeUndefined();
    }
    expect(openLink(predecessor, `l1.${bytes.subarray(1).toString('base64url')}`, artifactKey(successor))).toBeUndefined();
    expect(openLink(predecessor, `l1.${Buffer.concat([bytes, Buffer.of(0)]).toString('base64url')}`, artifactKey(successor))).toBeUndefined();
  });

  it('opens nothing of another format: the AES-GCM links of earlier versions, or none at all', () => {
    for (const other of ['b1.iv.ciphertext.tag', '', 'l1', link.slice(3)]) expect(openLink(predecessor, other, artifactKey(successor))).toBeUndefined();
  });

  it('seals one successor differently for each predecessor, and any id oidc-provider could hand over', () => {
    expect(sealLink(token(), successor)).not.toBe(link);
    for (const id of ['x', 'é🔑', 'a'.repeat(500)]) expect(openLink(predecessor, sealLink(predecessor, id), artifactKey(id))).toBe(id);
  });
});
