// A message as route code holds it: a catalog key and its parameters, never
// a sentence. Pages turn it into words in the reader's language
// (i18n/translator.ts); a parameter may itself be a message ("for up to
// {{lifetime}}", where the lifetime is "14 days" or "14 Tage").

export type MessageParam = string | number | Message;

export interface Message {
  readonly key: string;
  readonly params?: Readonly<Record<string, MessageParam>>;
}

export function message(key: string, params?: Readonly<Record<string, MessageParam>>): Message {
  return params ? { key, params } : { key };
}

/**
 * Words that are not ours to translate (oidc-provider's error_description):
 * shown as they come. Marked, so they are never looked up as a key.
 */
export interface Verbatim {
  readonly text: string;
}

export function verbatim(text: string): Verbatim {
  return { text };
}

export function isVerbatim(value: unknown): value is Verbatim {
  return typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string';
}

export function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { key?: unknown }).key === 'string';
}
