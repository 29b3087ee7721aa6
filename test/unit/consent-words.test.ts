// The consent page's words for how long offline access lasts: an upper bound
// a person can read ("up to 14 days"), never shorter than the real lifetime.
import { describe, expect, it } from 'vitest';
import { createTranslator } from '../../src/i18n/translator.ts';
import { describeConsent, describeLifetime } from '../../src/interactions/consent-words.ts';

// The messages as the English page words them.
const english = createTranslator().t('en');

describe('describeLifetime', () => {
  it.each([
    [14 * 86400, '14 days'],
    [86400, '1 day'],
    [25 * 3600, '25 hours'],
    [3600, '1 hour'],
    [90 * 60, '90 minutes'],
    [60, '1 minute'],
    [45, '45 seconds'],
    [1, '1 second'],
    // Not a whole number of any unit: rounded up, so "up to" stays true.
    [86400 + 1, '2 days'],
    [3600 + 30, '2 hours'],
    [61, '2 minutes'],
  ])('words %i seconds as %s', (seconds, words) => {
    expect(english(describeLifetime(seconds))).toBe(words);
  });
});

describe('describeConsent', () => {
  const request = { claims: [], resourceScopes: {} };

  it('words offline access with its lifetime and the client name', () => {
    expect(english(describeConsent({ ...request, scopes: ['openid', 'offline_access'] }, { clientName: 'Diary', offlineAccessTtl: 14 * 86400 }).offline!)).toBe(
      'Access while you are not using it, for up to 14 days, even after you sign out of Latchkey. Diary can give it up sooner, and an administrator can end it.',
    );
  });

  it('has no offline words when offline_access is not asked for', () => {
    expect(describeConsent({ ...request, scopes: ['openid'] }, { clientName: 'Diary', offlineAccessTtl: 86400 }).offline).toBeUndefined();
  });
});
