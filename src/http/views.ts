// Server-rendered pages in the reader's language. Templates live in views/
// and hold markup and message keys only; the words come from the catalogs
// (i18n/translator.ts), in the locale the caller chose for the request
// (i18n/locale-choice.ts). Eta escapes every `<%= %>` value, so no user or
// client input reaches a page raw; the few messages that carry markup
// (keys ending in "Html", printed with `<%~ it.html(…) %>`) have their
// parameters escaped before they are put in.
import { Eta } from 'eta';
import { chooseLocale, type LanguageRequest } from '../i18n/locale-choice.ts';
import { isMessage, type Message, type MessageParam } from '../i18n/message.ts';
import { createTranslator, type Translate, type Translator } from '../i18n/translator.ts';
import { viewsDir } from '../paths.ts';

export interface PageData {
  /** The page's title: a catalog key, or a message with parameters. */
  readonly title: string | Message;
  readonly [key: string]: unknown;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);

/** A message whose catalog text is markup: its parameters escaped, its own tags kept. */
function htmlTranslate(t: Translate): Translate {
  return (key, params) => {
    const escaped = params && Object.fromEntries(Object.entries(params).map(([name, value]): [string, MessageParam] => [name, typeof value === 'number' ? value : escapeHtml(isMessage(value) ? t(value) : value)]));
    return t(key, escaped);
  };
}

export function createViews(options: { cache?: boolean; translator?: Translator } = {}) {
  const eta = new Eta({ views: viewsDir, autoEscape: true, autoTrim: false, cache: options.cache ?? true });
  const translator = options.translator ?? createTranslator();
  return {
    /** The languages pages come in, the fallback (English) first: what discovery's ui_locales_supported says. */
    locales: translator.locales,

    /** The language for this request's page: the client's ui_locales, else the browser's Accept-Language, else English. */
    localeFor(request: LanguageRequest, uiLocales?: unknown): string {
      return chooseLocale(request, uiLocales, translator.locales);
    },

    /** Renders views/<name>.eta inside views/layout.eta, in `locale`. */
    render(name: string, data: PageData, locale: string): string {
      const lang = translator.locales.includes(locale) ? locale : translator.locales[0]!;
      const t = translator.t(lang);
      return eta.render(name, { ...data, lang, t, html: htmlTranslate(t) });
    },
  };
}

export type Views = ReturnType<typeof createViews>;
