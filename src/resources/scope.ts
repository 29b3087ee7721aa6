// Scope values as RFC 6749 §3.3 defines them: space-delimited tokens of
// printable ASCII other than space, double quote and backslash.
import { InvalidInputError } from '../errors.ts';

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Splits space-delimited scope strings (one or many) into distinct tokens, in
 * first-seen order. Throws InvalidInputError naming the first bad token.
 */
export function parseScopeTokens(values: string | readonly string[], field?: string): string[] {
  const tokens = (typeof values === 'string' ? [values] : values)
    .flatMap((value) => value.split(' '))
    .filter((token) => token !== '');
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) {
      throw new InvalidInputError(`scope ${JSON.stringify(token)} is not a valid scope token (RFC 6749 §3.3: printable ASCII without space, " or \\)`, field === undefined ? undefined : { field });
    }
  }
  return [...new Set(tokens)];
}
