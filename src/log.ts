// Structured JSON logs (pino). Anything that could carry a secret is redacted
// by key name, so a careless `log.info({ req })` cannot leak a token or password.
// (`code` is not redacted: it is the error code on every error object, and
// authorization codes are never logged because query strings are not.)
import { pino, type Logger, type DestinationStream } from 'pino';
import type { Config } from './config/config.ts';
import { isoTime } from './iso-time.ts';
import { createLogOutput, type LogOutput } from './log-output.ts';

export type Log = Logger;

/** Keys whose values are never written, at the top of a line or inside any object in it. */
const SECRET_KEYS = new Set([
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
]);

export const CENSOR = '[redacted]';

/** How deep redaction looks: { req: { headers: { authorization } } } is three levels. */
const MAX_DEPTH = 3;

/**
 * The line's fields with every secret key's value replaced by CENSOR; the
 * object itself when there is none (nothing is copied on the common path).
 *
 * pino's own `redact` option did this by path, but its wildcard paths
 * (`*.password`) send every value of every line through a path matcher:
 * with an access line and an audit line per token request, that was a
 * tenth of the request's CPU (bench --profile). One pass over the keys
 * with a set lookup does the same job for a few objects of a few keys.
 * A secret-named property on a logged error is caught too.
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
    if (SECRET_KEYS.has(key)) {
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
      redact: { paths: [...SECRET_KEYS].map((key) => (key.includes('-') ? `["${key}"]` : key)), censor: CENSOR },
      // pino's isoTime, without a toISOString per line (iso-time.ts).
      timestamp: () => `,"time":"${isoTime(Date.now())}"`,
    },
    destination ?? bufferedStdout(),
  );
}

/** Most a log line waits in memory before it is written (see createLog). */
const FLUSH_INTERVAL_MS = 250;

/**
 * One write(2) per log line was the largest single cost of a token request
 * (an access line and an audit line each). Lines are gathered into writes
 * of 32 KiB instead (log-output.ts), flushed at least every 250 ms and when
 * the process exits, so nothing is lost on a normal or error exit; a SIGKILL
 * loses at most the last quarter second of lines.
 */
function bufferedStdout(): DestinationStream {
  // One per process, however many loggers write to it: one order, one exit hook.
  if (!stdout) {
    const output = createLogOutput(1);
    setInterval(() => output.flush(), FLUSH_INTERVAL_MS).unref();
    process.on('exit', () => output.flush());
    stdout = output;
  }
  return stdout;
}

let stdout: LogOutput | undefined;
