// Structured JSON logs (pino). Anything that could carry a secret is redacted
// by path, so a careless `log.info({ req })` cannot leak a token or password.
// (`code` is not redacted: it is the error code on every error object, and
// authorization codes are never logged because query strings are not.)
import { pino, type Logger, type DestinationStream } from 'pino';
import type { Config } from './config/config.ts';

export type Log = Logger;

const REDACT = [
  'password',
  '*.password',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'id_token',
  '*.id_token',
  'code_verifier',
  '*.code_verifier',
  'secret',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** Most a log line waits in memory before it is written (see createLog). */
const FLUSH_INTERVAL_MS = 250;

export function createLog(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Log {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'latchkey' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? bufferedStdout(),
  );
}

/**
 * One write(2) per log line was the largest single cost of a token request
 * (an access line and an audit line each). Lines are gathered into 4 KiB
 * writes instead, flushed at least every 250 ms and synchronously when the
 * process exits, so nothing is lost on a normal or error exit; a SIGKILL
 * loses at most the last quarter second of lines.
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => stream.flush(), FLUSH_INTERVAL_MS).unref();
  return stream;
}
