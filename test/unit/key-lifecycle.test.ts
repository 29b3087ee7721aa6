// The timeline rules of a signing key, on hand-made rows and a fixed clock.
import { describe, expect, it } from 'vitest';
import {
  effectiveState,
  pendingKeyFor,
  retirableAt,
  rotationDue,
  signingKeyFor,
  supersededAt,
  type KeyTimeline,
} from '../../src/keys/key-lifecycle.ts';
import { keySetFingerprint, nextActivation } from '../../src/keys/key-set-watcher.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const HOUR = 3600;
const GRACE_MS = 2 * HOUR * 1000;

function key(kid: string, fields: Partial<KeyTimeline> = {}): KeyTimeline {
  return { kid, alg: 'ES256', state: 'active', activatesAt: null, retiredAt: null, createdAt: at(0), ...fields };
}

// `old` signed from T0; `next` was published at +1 h to sign from +2 h; an RS256 key stands by.
const old = key('old');
const next = key('next', { state: 'published', createdAt: at(HOUR), activatesAt: at(2 * HOUR) });
const rsa = key('rsa', { alg: 'RS256' });
const keys = [old, next, rsa];

describe('before the new key activates', () => {
  const now = at(HOUR + 60);
  it('the new key is published, not signing; the old one still signs', () => {
    expect(effectiveState(next, now)).toBe('published');
    expect(signingKeyFor(keys, 'ES256', now)?.kid).toBe('old');
    expect(pendingKeyFor(keys, 'ES256', now)?.kid).toBe('next');
    expect(supersededAt(old, keys, now)).toBeNull();
  });

  it('the old key cannot be retired at all; the never-used new one at once', () => {
    expect(retirableAt(old, keys, now, GRACE_MS)).toBeNull();
    expect(retirableAt(next, keys, now, GRACE_MS)).toEqual(next.createdAt);
  });
});

describe('after the new key activates', () => {
  const now = at(2 * HOUR + 1);
  it('the new key signs and counts as active without any write', () => {
    expect(effectiveState(next, now)).toBe('active');
    expect(signingKeyFor(keys, 'ES256', now)?.kid).toBe('next');
    expect(pendingKeyFor(keys, 'ES256', now)).toBeUndefined();
  });

  it('the old key was superseded at the activation and may go one grace later', () => {
    expect(supersededAt(old, keys, now)).toEqual(at(2 * HOUR));
    expect(retirableAt(old, keys, now, GRACE_MS)).toEqual(at(4 * HOUR));
    expect(supersededAt(rsa, keys, now)).toBeNull();
  });

  it('a newer key retired by force hands signing back to the old one, which then cannot be retired', () => {
    const forced = [old, { ...next, state: 'retired', retiredAt: now }, rsa];
    expect(signingKeyFor(forced, 'ES256', now)?.kid).toBe('old');
    expect(retirableAt(old, forced, now, GRACE_MS)).toBeNull();
  });

  it('the earliest of several newer keys bounds when the old one last signed', () => {
    const third = key('third', { state: 'published', createdAt: at(3 * HOUR), activatesAt: at(3 * HOUR) });
    expect(supersededAt(old, [old, next, third], at(5 * HOUR))).toEqual(at(2 * HOUR));
    expect(supersededAt(next, [old, next, third], at(5 * HOUR))).toEqual(at(3 * HOUR));
  });
});

describe('rotationDue', () => {
  const DAY_MS = 24 * HOUR * 1000;
  it.each([
    ['a key younger than the period', [old], at(HOUR), false],
    ['a key as old as the period', [old], new Date(T0 + DAY_MS), true],
    ['an old key with a replacement pending', [old, key('new', { state: 'published', activatesAt: new Date(T0 + 2 * DAY_MS) })], new Date(T0 + DAY_MS + 1), false],
    ['an old key superseded by a recent one', [old, key('new', { state: 'published', activatesAt: new Date(T0 + DAY_MS) })], new Date(T0 + DAY_MS + 1), false],
    ['no key of the alg at all', [rsa], new Date(T0 + 5 * DAY_MS), false],
  ])('%s: %s', (_name, rows, now, due) => {
    expect(rotationDue(rows, 'ES256', now, DAY_MS)).toBe(due);
  });
});

describe('the key-set fingerprint the watcher compares', () => {
  it('changes when a published key reaches its activation, with no row changing', () => {
    expect(keySetFingerprint(keys, at(2 * HOUR - 1))).not.toBe(keySetFingerprint(keys, at(2 * HOUR)));
    expect(keySetFingerprint(keys, at(2 * HOUR))).toBe(keySetFingerprint(keys, at(3 * HOUR)));
  });

  it('changes when a key is added or retired, not when rows come in another order', () => {
    const before = keySetFingerprint(keys, at(0));
    expect(keySetFingerprint([...keys].reverse(), at(0))).toBe(before);
    expect(keySetFingerprint([old, rsa], at(0))).not.toBe(before);
    expect(keySetFingerprint([old, { ...next, state: 'retired', retiredAt: at(1) }, rsa], at(0))).not.toBe(before);
  });

  it('knows the next activation to wake up for', () => {
    expect(nextActivation(keys, at(0))).toEqual(at(2 * HOUR));
    expect(nextActivation(keys, at(2 * HOUR))).toBeUndefined();
  });
});
