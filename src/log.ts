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

/**
 * How deep redaction looks: a secret key at the top of a line, or inside up
 * to three levels of objects or arrays ({ req: { headers: { authorization } } }
 * is the third level; a logged error's own properties are the first).
 */
const MAX_DEPTH = 3;

/** pino's redact paths: every secret key at every depth up to MAX_DEPTH, through `*` wildcards. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) =>
  Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => {
    const parents = Array<string>(depth).fill('*');
    // A key with a dash is written in brackets: `*.*["set-cookie"]`.
    return key.includes('-') ? `${parents.join('.')}["${key}"]` : [...parents, key].join('.');
  }),
);

export function createLog(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Log {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'latchkey' },
      // Child bindings (requestId, …) are redacted by the same paths.
      redact: { paths: [...REDACT_PATHS], censor: CENSOR },
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
