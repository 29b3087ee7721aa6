// Which of the catalogs' languages a page is written in: the first of the
// client's ui_locales (OIDC Core 3.1.2.1, a space-separated list of BCP 47
// tags, most wanted first) that a catalog has, else the browser's
// Accept-Language (negotiated by Koa's ctx.acceptsLanguages, with q-values
// and "de-CH" finding "de"), else the first catalog's language (English).
// A client's explicit choice beats the browser's, as the spec intends.

/** What is read of a request: Koa's Context has it. */
export interface LanguageRequest {
  acceptsLanguages(...languages: string[]): string | false;
}

/** The supported locale a BCP 47 tag names: itself, or its primary language ("de-AT" → "de"). */
function supportedTag(tag: string, supported: readonly string[]): string | undefined {
  const wanted = tag.toLowerCase();
  return supported.find((locale) => locale.toLowerCase() === wanted) ?? supported.find((locale) => locale.toLowerCase() === wanted.split('-')[0]);
}

export function chooseLocale(request: LanguageRequest, uiLocales: unknown, supported: readonly string[]): string {
  if (typeof uiLocales === 'string') {
    for (const tag of uiLocales.split(' ')) {
      const locale = tag && supportedTag(tag, supported);
      if (locale) return locale;
    }
  }
  const [fallback, ...others] = supported;
  // With no Accept-Language, or nothing acceptable in it, Koa answers the first it was offered: the fallback.
  const accepted = request.acceptsLanguages(fallback!, ...others);
  return accepted || fallback!;
}
