// Structured JSON logs (pino): one JSON line per event with an ISO `time`,
// pino's numeric `level` and `msg`. Anything that could carry a secret is
// redacted by key name with pino's own `redact`, so a careless
// `log.info({ req })` cannot leak a token or password.
// (`code` is not redacted: it is the error code on every error object, and
// authorization codes are never logged because query strings are not.)
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config/config.ts';

export type Log = Logger;

/** Keys whose values are never written, at the top of a line or inside any object in it. */
const SECRET_KEYS = [
  'password',
  'client_secret',
  'clientSecret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code_verifier',
  'secret',
  // HTTP headers (req.headers, res.headers) that carry credentials.
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
] as const;

export const CENSOR = '[redacted]';

/** How deep redaction looks: { req: { headers: { authorization } } } is three levels. */
const MAX_DEPTH = 3;

const SECRETS: ReadonlySet<string> = new Set(SECRET_KEYS);

/**
 * The line's fields with every secret key's value replaced by CENSOR, down
 * to MAX_DEPTH levels of objects, arrays and logged errors; the object itself
 * when there is none (nothing is copied on the common path).
 *
 * Not pino's `redact`: it works by path, and to cover a key at any depth it
 * needs wildcard paths (`*.password`, `*.*.password`, … 52 of them), which
 * send every value of every line through its path matcher. With an access
 * line and an audit line per token request, that took client credentials
 * from 58% to 39% of the reference's tokens per CPU-second, and JWKS from
 * 51% to 31% (one bench A/B run, 2026-12-04). One pass
 * over the keys with a set lookup, run by pino's own `formatters.log` hook,
 * does the same job for a few objects of a few keys.
 */
export function redactSecrets<T extends object>(value: T): T {
  return redactFields(value as Record<string, unknown>, 0) as T;
}

function redactFields(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const field = value[key];
    let replaced = field;
    if (SECRETS.has(key)) {
      if (field !== undefined) replaced = CENSOR;
    } else if (field instanceof Error && depth < MAX_DEPTH) {
      replaced = redactError(field, depth + 1);
    } else if (field !== null && typeof field === 'object' && depth < MAX_DEPTH) {
      replaced = redactFields(field as Record<string, unknown>, depth + 1);
    }
    if (replaced !== field) {
      copy ??= Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...value };
      copy[key] = replaced;
    }
  }
  return copy ?? value;
}

/** The error itself, or a copy of the same class (so pino names its type right) with its secret-named properties censored. */
function redactError(error: Error, depth: number): Error {
  const own = { ...error } as Record<string, unknown>;
  const redacted = redactFields(own, depth);
  if (redacted === own) return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
  return Object.assign(copy, { message: error.message, stack: error.stack }, redacted);
}

export function createLog(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Log {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'latchkey' },
      formatters: { log: redactSecrets },
      // Child-logger bindings (requestId, …) skip formatters.log; pino's own
      // redact covers their top-level keys, which costs nothing per line: with
      // no wildcard path, only a secret-named key ever reaches its censor.
      redact: { paths: SECRET_KEYS.map((key) => (key.includes('-') ? `["${key}"]` : key)), censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? bufferedStdout(),
  );
}

/** Bytes gathered before a write: one write(2) per line was the largest single cost of a token request. */
const MIN_LENGTH = 4096;
/** Most a log line waits in memory before it is written. */
const FLUSH_INTERVAL_MS = 250;
/** Bytes kept at most while stdout is not accepting writes; lines past it are dropped, not queued without bound. */
const MAX_LENGTH = 16 * 1024 * 1024;

/**
 * pino's own destination (sonic-boom) on stdout, asynchronous and buffered:
 * lines are written MIN_LENGTH bytes at a time, flushed at least every
 * FLUSH_INTERVAL_MS, and flushed synchronously when the process exits (pino
 * registers that for an async destination), so a normal or error exit loses
 * nothing; a SIGKILL loses at most the last quarter second of lines.
 */
function bufferedStdout(): DestinationStream {
  // One per process, however many loggers write to it: one order, one exit hook.
  if (!stdout) {
    const output = pino.destination({ dest: 1, sync: false, minLength: MIN_LENGTH, maxLength: MAX_LENGTH });
    setInterval(() => {
      try {
        output.flush();
      } catch {
        // Destroyed (stdout closed) or not open yet: nothing to flush now.
      }
    }, FLUSH_INTERVAL_MS).unref();
    stdout = output;
  }
  return stdout;
}

let stdout: ReturnType<typeof pino.destination> | undefined;
