// isoTime must write exactly what Date#toISOString writes, for any time, in any order of calls.
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/iso-time.ts';

describe('isoTime', () => {
  it('matches toISOString across seconds, days, years and in either direction', () => {
    const now = Date.now();
    const times = [now, now + 1, now + 999, now - 1, now + 1000, 0, 1, 999, 1000, -1, -999, -1000, -1001, 951_782_400_000 - 1, 253_402_300_799_999, 253_402_300_800_000, -62_198_755_200_000, 8.64e15, -8.64e15];
    for (let i = 0; i < 20_000; i++) times.push(Math.floor(now + (Math.random() - 0.5) * 4e3));
    for (let i = 0; i < 5_000; i++) times.push(Math.floor((Math.random() - 0.5) * 2 * 8.64e15));
    for (const time of times) expect(isoTime(time), String(time)).toBe(new Date(time).toISOString());
  });

  it('truncates a fractional time as a Date does', () => {
    for (const time of [1.5, -1.5, Date.now() + 0.999]) expect(isoTime(time)).toBe(new Date(time).toISOString());
  });

  it('throws RangeError for a time no Date can hold, as toISOString does', () => {
    for (const time of [Number.NaN, 8.64e15 + 1, -8.64e15 - 1, Number.POSITIVE_INFINITY]) {
      expect(() => isoTime(time)).toThrow(RangeError);
    }
    // And the cache is not left in a state that answers wrongly afterwards.
    const now = Date.now();
    expect(isoTime(now)).toBe(new Date(now).toISOString());
  });
});
