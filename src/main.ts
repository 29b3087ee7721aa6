// `npm start`: read the configuration, start Latchkey, stop cleanly on SIGTERM/SIGINT.
import { loadConfig, requireSmtpForAccountMail, type Config } from './config/config.ts';
import { LatchkeyError } from './errors.ts';
import { createLog } from './log.ts';
import { startLatchkey } from './server.ts';

let config: Config;
try {
  config = loadConfig();
  // The server's rule, not the CLI's: a server that would mail people needs somewhere to send.
  requireSmtpForAccountMail(config, { signup: config.selfService.signup === 'open', passwordReset: config.selfService.passwordReset });
} catch (error) {
  // One clear line naming the variable; no stack trace for a configuration mistake.
  process.stderr.write(`latchkey: configuration error: ${(error as Error).message}\n`);
  process.exit(1);
}

const log = createLog(config);

try {
  const latchkey = await startLatchkey({ config, log });
  // The issuer is the URL clients use; where the socket is bound is only what it says.
  log.info(
    { issuer: config.issuer, discovery: `${config.issuer}/.well-known/openid-configuration`, listening: latchkey.listening, database: config.database.dialect },
    `Latchkey is ready at ${config.issuer}; next: register an app with \`npx latchkey client create --help\`, or see ${config.issuer}/`,
  );

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    // Exit 0 within 10 s whatever happens: stop() bounds the drain at 6 s and
    // the audit flush at 3 s, so this deadline is only a last resort.
    const deadline = setTimeout(() => process.exit(0), 9500);
    deadline.unref();
    latchkey.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'error while shutting down');
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (error) {
  const systemCode = (error as NodeJS.ErrnoException).code;
  if (error instanceof LatchkeyError) {
    log.fatal({ code: error.code }, error.message);
  } else if (systemCode === 'EADDRINUSE' || systemCode === 'EACCES' || systemCode === 'EADDRNOTAVAIL') {
    // An expected operator mistake: one line, no stack trace.
    log.fatal({ code: systemCode }, `cannot listen on ${config.host}:${config.port}: ${systemCode === 'EADDRINUSE' ? 'the port is already in use' : 'not permitted or not available'}`);
  } else {
    log.fatal({ err: error }, 'Latchkey failed to start');
  }
  process.exit(1);
}
