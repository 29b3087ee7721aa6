// The catalogs in locales/ are complete and agree with each other: every key
// of English is in every other language and the other way round, no message
// is empty, each translation takes the same {{parameters}} and keeps the
// same markup as the English one, every key the views and route code name
// exists, and the German words of the login errors come out with their
// numbers in (plurals through i18next).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.ts';
import { createTranslator, readCatalogs, type Catalog } from '../../src/i18n/translator.ts';
import { BUSY_MESSAGE, INVALID_CREDENTIALS, tooManyAttemptsMessage } from '../../src/interactions/login-messages.ts';
import { describeConsent } from '../../src/interactions/consent-words.ts';
import { isAuditEventType } from '../../src/audit/audit-event.ts';

const catalogs = readCatalogs();
const locales = Object.keys(catalogs);

function flatten(catalog: Catalog, prefix = ''): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  for (const [key, value] of Object.entries(catalog)) {
    if (typeof value === 'object' && value !== null) for (const [inner, text] of flatten(value, `${prefix}${key}.`)) flat.set(inner, text);
    else flat.set(`${prefix}${key}`, value);
  }
  return flat;
}

const flat = Object.fromEntries(locales.map((locale) => [locale, flatten(catalogs[locale]!)]));
const english = flat.en!;
const PLURAL = /_(zero|one|two|few|many|other)$/;
const pluralBase = (key: string) => key.replace(PLURAL, '');
const parameters = (text: string) => [...text.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((match) => match[1]).sort();
const tags = (text: string) => [...text.matchAll(/<\/?[a-z]+>/g)].map((match) => match[0]);

describe('catalogs', () => {
  it('has English and at least one other language', () => {
    expect(locales).toContain('en');
    expect(locales.length).toBeGreaterThanOrEqual(2);
    expect(createTranslator().locales[0]).toBe('en');
  });

  describe.each(locales.filter((locale) => locale !== 'en'))('%s', (locale) => {
    const other = flat[locale]!;

    it('has every English key, and no key English lacks (plural forms aside: each language has its own)', () => {
      const englishKeys = new Set([...english.keys()].map(pluralBase));
      const otherKeys = new Set([...other.keys()].map(pluralBase));
      expect([...englishKeys].filter((key) => !otherKeys.has(key))).toEqual([]);
      expect([...otherKeys].filter((key) => !englishKeys.has(key))).toEqual([]);
    });

    it('takes the same parameters and keeps the same markup as English', () => {
      for (const [key, text] of other) {
        const original = String(english.get(key) ?? english.get(`${pluralBase(key)}_other`));
        expect(parameters(String(text)), key).toEqual(parameters(original));
        expect(tags(String(text)), key).toEqual(tags(original));
      }
    });

    it('has the plural forms its language needs', () => {
      const categories = new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
      const plurals = new Set([...english.keys()].filter((key) => PLURAL.test(key)).map(pluralBase));
      expect(plurals.size).toBeGreaterThan(0);
      for (const base of plurals) for (const category of categories) expect(other.has(`${base}_${category}`), `${base}_${category}`).toBe(true);
    });
  });

  it.each(locales)('%s: every message is a non-empty string', (locale) => {
    for (const [key, text] of flat[locale]!) {
      expect(typeof text, key).toBe('string');
      expect(String(text).trim(), key).not.toBe('');
    }
  });

  it('markup only in keys ending in Html, which the views print raw with escaped parameters', () => {
    for (const [key, text] of english) expect(tags(String(text)).length > 0, key).toBe(key.endsWith('Html'));
  });

  it('has every key the views and route code name', () => {
    const sources = [
      ...readdirSync(path.join(packageRoot, 'views')).filter((name) => name.endsWith('.eta')).map((name) => path.join(packageRoot, 'views', name)),
      // Audit event types (login.success, consent.denied) look like keys and are not.
      ...readdirSync(path.join(packageRoot, 'src'), { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.ts') && !name.includes('audit'))
        .map((name) => path.join(packageRoot, 'src', name)),
    ];
    const roots = Object.keys(catalogs.en!).join('|');
    const named = new Set<string>();
    for (const file of sources) {
      for (const match of readFileSync(file, 'utf8').matchAll(new RegExp(`'((?:${roots})\\.[\\w.]+)'`, 'g'))) named.add(match[1]!);
    }
    expect(named.size).toBeGreaterThan(40);
    // Audit event types (account.deleted) share the "account" root with the account page's keys, and are not keys.
    const missing = [...named].filter((key) => !english.has(key) && !english.has(`${key}_other`) && !isAuditEventType(key));
    expect(missing).toEqual([]);
  });
});

describe('German messages', () => {
  const de = createTranslator().t('de');

  it('words the login errors', () => {
    expect(de(INVALID_CREDENTIALS)).toBe('E-Mail oder Passwort ist falsch');
    expect(de(BUSY_MESSAGE)).toBe('Latchkey ist gerade ausgelastet. Versuchen Sie es in ein paar Sekunden erneut.');
    expect(de(tooManyAttemptsMessage(30))).toBe('Zu viele Versuche. Versuchen Sie es in 1 Minute erneut.');
    expect(de(tooManyAttemptsMessage(900))).toBe('Zu viele Versuche. Versuchen Sie es in 15 Minuten erneut.');
  });

  it('words offline access with its lifetime in German', () => {
    const { offline, items } = describeConsent({ scopes: ['openid', 'profile', 'offline_access'], claims: ['locale'], resourceScopes: {} }, { clientName: 'Tagebuch', offlineAccessTtl: 86400 });
    expect(de(offline!)).toBe('Zugriff, während Sie die Anwendung nicht nutzen, höchstens 1 Tag lang, auch nachdem Sie sich bei Latchkey abgemeldet haben. Tagebuch kann ihn früher aufgeben, und ein Administrator kann ihn beenden.');
    expect(items.map((item) => de(item))).toEqual([
      'Die Angabe, welches Latchkey-Konto Sie verwenden (eine Kennung, nicht Ihre E-Mail-Adresse)',
      'Ihren Namen',
      'Die Angabe „locale“ Ihres Kontos',
    ]);
  });

  it('gives English words for a locale there is no catalog for', () => {
    expect(createTranslator().t('fr')(INVALID_CREDENTIALS)).toBe('Invalid email or password');
  });
});
