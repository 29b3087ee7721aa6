// The rule a master secret (LATCHKEY_SECRET, or the generated secret file)
// must meet: at least 32 random bytes, hex- or base64-encoded. The secret is
// stretched with HKDF only, which is fast, so its own entropy is all that
// stands between a database dump and every sealed private key: a passphrase
// would be guessed offline. Text cannot be told from randomness with
// certainty, so the rule refuses what random output almost never looks like:
//
// 1. Anything but one encoding: hex (0-9, a-f, either case) or base64 /
//    base64url (optional `=` padding). A space or other punctuation means
//    text, and most passphrases stop here.
// 2. Fewer than 32 decoded bytes.
// 3. Too few distinct characters for random output of that length
//    ("aaaa…", repeated words): random output has so few with probability
//    below 1e-9.
// 4. Text-like: a simple model of typed text (letters in English
//    frequencies, mostly lower case, characters of one kind in runs, counting
//    sequences like 0123 or abcd) explains the secret at least 1e9 times
//    better than uniform randomness does. Because the model is a probability
//    distribution, a truly random secret reaches that ratio with probability
//    at most 1e-9 (Markov's inequality: the ratio's mean under randomness is
//    1), whatever the model's numbers are; they only decide how much text is
//    caught.
//
// A random secret is refused with probability below 2e-9, and
// `latchkey secret generate` draws again in that case.
//
// It cannot recognise every string a person made up from base64 characters;
// it exists to stop the common mistakes, and the message says how to make a
// real secret.

import { randomBytes } from 'node:crypto';

export const MIN_SECRET_BYTES = 32;

/** What to do instead, appended to every refusal. */
export const MASTER_SECRET_ADVICE =
  'generate one with `latchkey secret generate` (or `openssl rand -base64 32`); to replace a secret already in use, see `latchkey secret rotate`';

/** A test that random output fails less often than this refuses the secret. */
const RANDOM_FAILURE_BOUND = 1e-9;
/** log2 of 1 / RANDOM_FAILURE_BOUND: the text model's advantage, in bits, that refuses a secret. */
const TEXT_LIKE_BITS = Math.log2(1 / RANDOM_FAILURE_BOUND);
/** The statistics look at this many characters at most: enough for the bound, cheap for long secrets. */
const SAMPLE_LENGTH = 128;

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

interface Encoding {
  readonly bytes: number;
  /** The characters compared. */
  readonly symbols: string;
  readonly alphabet: string;
}

function encodingOf(secret: string): Encoding | undefined {
  if (HEX.test(secret) && secret.length % 2 === 0) {
    return {
      bytes: secret.length / 2,
      // Hex is case-insensitive: "ABCD" and "abcd" are the same bytes.
      symbols: secret.toLowerCase(),
      alphabet: '0123456789abcdef',
    };
  }
  if (BASE64.test(secret) || BASE64URL.test(secret)) {
    const unpadded = secret.replace(/=+$/, '');
    return {
      bytes: Math.floor((unpadded.length * 6) / 8),
      symbols: unpadded,
      alphabet: `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789${BASE64.test(secret) ? '+/' : '-_'}`,
    };
  }
  return undefined;
}

/** A fresh master secret: base64url of 32 random bytes, drawn again in the (below 2e-9) case the rule refuses it. */
export function generateMasterSecret(): string {
  for (;;) {
    const secret = randomBytes(MIN_SECRET_BYTES).toString('base64url');
    if (!masterSecretProblem(secret)) return secret;
  }
}

/** Why `secret` may not be a master secret, or undefined when it may. The reason never quotes the secret. */
export function masterSecretProblem(secret: string): string | undefined {
  if (secret === '') return `must be at least ${MIN_SECRET_BYTES} random bytes, hex- or base64-encoded; it is empty`;
  const encoding = encodingOf(secret);
  if (!encoding) {
    return `must be at least ${MIN_SECRET_BYTES} random bytes, hex- or base64-encoded; it has characters no such encoding has (a passphrase?)`;
  }
  if (encoding.bytes < MIN_SECRET_BYTES) {
    return `must be at least ${MIN_SECRET_BYTES} random bytes, hex- or base64-encoded; it encodes only ${encoding.bytes}`;
  }
  const sample = [...encoding.symbols.slice(0, SAMPLE_LENGTH)];
  const distinct = new Set(sample).size;
  if (fewDistinctProbability(sample.length, encoding.alphabet.length, distinct) < RANDOM_FAILURE_BOUND) {
    return `does not look random: it repeats too few different characters (${distinct} of ${sample.length})`;
  }
  if (textModelAdvantageBits(sample, encoding.alphabet) >= TEXT_LIKE_BITS) {
    return 'does not look random: it reads like typed text (words, names, numbers)';
  }
  return undefined;
}

/** P(at most `distinct` different symbols among n uniform draws from m): the occupancy distribution, by dynamic programming. */
function fewDistinctProbability(n: number, m: number, distinct: number): number {
  let p = new Float64Array(m + 1);
  p[0] = 1;
  for (let draw = 0; draw < n; draw++) {
    const next = new Float64Array(m + 1);
    for (let k = 0; k <= Math.min(draw, m); k++) {
      const here = p[k]!;
      if (here === 0) continue;
      next[k]! += (here * k) / m;
      if (k < m) next[k + 1]! += (here * (m - k)) / m;
    }
    p = next;
  }
  return p.slice(0, distinct + 1).reduce((sum, value) => sum + value, 0);
}

// English letter frequencies (percent, a…z), case-folded.
const LETTER_FREQUENCY = [8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4, 6.7, 7.5, 1.9, 0.095, 6.0, 6.3, 9.1, 2.8, 0.98, 2.4, 0.15, 2.0, 0.074];
type Kind = 'lower' | 'upper' | 'digit' | 'symbol';
// P(kind of the next character | kind of this one): typed text keeps to one kind in runs.
const NEXT_KIND: Record<Kind | 'start', Record<Kind, number>> = {
  start: { lower: 0.5, upper: 0.3, digit: 0.15, symbol: 0.05 },
  lower: { lower: 0.8, upper: 0.1, digit: 0.04, symbol: 0.06 },
  upper: { lower: 0.85, upper: 0.1, digit: 0.03, symbol: 0.02 },
  digit: { lower: 0.1, upper: 0.1, digit: 0.7, symbol: 0.1 },
  symbol: { lower: 0.6, upper: 0.2, digit: 0.15, symbol: 0.05 },
};
// Within a run of digits (or letters), this share goes to the next one in order (123, abc).
const SEQUENCE_SHARE: Record<Kind, number> = { digit: 0.3, lower: 0.02, upper: 0.02, symbol: 0 };

function kindOf(symbol: string): Kind {
  if (symbol >= 'a' && symbol <= 'z') return 'lower';
  if (symbol >= 'A' && symbol <= 'Z') return 'upper';
  if (symbol >= '0' && symbol <= '9') return 'digit';
  return 'symbol';
}

/**
 * log2(P_text(sample) / P_uniform(sample)). P_text is a Markov chain over
 * the encoding's alphabet: the next character's kind depends on this one's
 * (NEXT_KIND, renormalised over the kinds the alphabet has), a letter follows
 * English frequencies, and a digit (or letter) after one of its kind is the
 * next in order with SEQUENCE_SHARE more weight. Each step is a proper
 * distribution over the alphabet, so the whole is one over strings.
 */
function textModelAdvantageBits(sample: readonly string[], alphabet: string): number {
  const symbols = [...alphabet];
  const byKind = new Map<Kind, string[]>();
  for (const symbol of symbols) byKind.set(kindOf(symbol), [...(byKind.get(kindOf(symbol)) ?? []), symbol]);
  const weightWithinKind = (symbol: string): number => {
    const kind = kindOf(symbol);
    if (kind === 'lower' || kind === 'upper') return LETTER_FREQUENCY[symbol.toLowerCase().charCodeAt(0) - 97]!;
    return 1;
  };
  const kindTotals = new Map<Kind, number>();
  for (const [kind, members] of byKind) kindTotals.set(kind, members.reduce((sum, symbol) => sum + weightWithinKind(symbol), 0));

  function probability(previous: string | undefined, symbol: string): number {
    const kind = kindOf(symbol);
    const row = NEXT_KIND[previous === undefined ? 'start' : kindOf(previous)];
    const present = [...byKind.keys()].reduce((sum, k) => sum + row[k], 0);
    const kindProbability = row[kind] / present;
    let within = weightWithinKind(symbol) / kindTotals.get(kind)!;
    if (previous !== undefined && SEQUENCE_SHARE[kind] > 0 && kindOf(previous) === kind) {
      const successor = byKind.get(kind)!.indexOf(previous) + 1;
      const hasSuccessor = successor < byKind.get(kind)!.length;
      if (hasSuccessor) {
        within = (1 - SEQUENCE_SHARE[kind]) * within + (byKind.get(kind)![successor] === symbol ? SEQUENCE_SHARE[kind] : 0);
      }
    }
    return kindProbability * within;
  }

  let bits = 0;
  for (const [index, symbol] of sample.entries()) {
    bits += Math.log2(probability(sample[index - 1], symbol) * symbols.length);
  }
  return bits;
}
