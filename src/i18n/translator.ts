// The pages' words in each language: i18next over the JSON catalogs in
// locales/ (one file a language, English the fallback), read once at start,
// synchronously, so a broken catalog fails the start and no request waits on
// a file. Hands out one `t` per locale; pages never see i18next itself.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import i18next, { type i18n } from 'i18next';
import { packageRoot } from '../paths.ts';
import { isMessage, isVerbatim, type Message, type MessageParam, type Verbatim } from './message.ts';

export const localesDir = path.join(packageRoot, 'locales');

/** The language every page falls back to, and whose catalog is complete by definition. */
export const FALLBACK_LOCALE = 'en';

export type Catalog = { readonly [key: string]: string | Catalog };

/** Words for a key (or a message) in one language. Parameters are not escaped: templates escape what they print. */
export type Translate = (key: string | Message | Verbatim, params?: Readonly<Record<string, MessageParam>>) => string;

/** Every locales/<locale>.json, by locale. */
export function readCatalogs(dir: string = localesDir): Record<string, Catalog> {
  const catalogs: Record<string, Catalog> = {};
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
    catalogs[path.basename(file, '.json')] = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Catalog;
  }
  if (!catalogs[FALLBACK_LOCALE]) throw new Error(`${dir} has no ${FALLBACK_LOCALE}.json, the fallback catalog`);
  return catalogs;
}

export function createTranslator(catalogs: Record<string, Catalog> = readCatalogs()) {
  const instance: i18n = i18next.createInstance();
  // Synchronous with inline resources (initAsync: false); init's promise has nothing left to wait for.
  void instance.init({
    initAsync: false,
    resources: Object.fromEntries(Object.entries(catalogs).map(([locale, catalog]) => [locale, { translation: catalog }])),
    fallbackLng: FALLBACK_LOCALE,
    supportedLngs: Object.keys(catalogs),
    // Exact locales only: chooseLocale has already mapped "de-AT" to "de".
    load: 'currentOnly',
    returnNull: false,
    returnEmptyString: false,
    // Eta escapes every value a template prints; escaping here too would show "&amp;".
    interpolation: { escapeValue: false },
  });
  // The fallback first: chooseLocale offers the languages in this order.
  const locales = [FALLBACK_LOCALE, ...Object.keys(catalogs).filter((locale) => locale !== FALLBACK_LOCALE).sort()];
  const translators = new Map<string, Translate>();

  function translatorFor(locale: string): Translate {
    const fixed = instance.getFixedT(locale);
    const params = (values: Readonly<Record<string, MessageParam>> | undefined) =>
      values && Object.fromEntries(Object.entries(values).map(([name, value]) => [name, isMessage(value) ? translate(value) : value]));
    const translate: Translate = (key, values) => {
      if (isVerbatim(key)) return key.text;
      return isMessage(key) ? fixed(key.key, params(key.params)) : fixed(key, params(values));
    };
    return translate;
  }

  return {
    /** The languages there are catalogs for, the fallback first. */
    locales: locales as readonly string[],
    /** A `t` for `locale`; an unknown locale gets the fallback's words. */
    t(locale: string): Translate {
      const known = locales.includes(locale) ? locale : FALLBACK_LOCALE;
      let translate = translators.get(known);
      if (!translate) translators.set(known, (translate = translatorFor(known)));
      return translate;
    },
  };
}

export type Translator = ReturnType<typeof createTranslator>;
