// A real SMTP server (smtp-server) in the test process, on an ephemeral
// loopback port: mail goes to it over TCP and comes back parsed (mailparser).
// It wants a user name and password, so tests also prove the transport
// authenticates; smtpUrl() builds the LATCHKEY_SMTP_URL that reaches it.
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'mailer';
// Characters a URL must percent-encode: the transport must decode them.
export const SMTP_PASSWORD = 'p@ss:w/rd';

/** The LATCHKEY_SMTP_URL of a sink on `port`. */
export const smtpUrl = (port: number) => `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${port}`;

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;

/** A real SMTP server that wants the password above, and keeps every mail it accepts, parsed. */
export async function startSmtpSink(port = 0) {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    logger: false,
    // Plain TCP on loopback: nodemailer's STARTTLS-when-offered is nodemailer's own tested path.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: SMTP_USER });
      else callback(new Error('535 bad credentials'));
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.server.address() as { port: number };
  return {
    port: address.port,
    url: smtpUrl(address.port),
    received,
    /** The mails to `address` so far. */
    to: (address: string) => received.filter((mail) => (mail.to as { text?: string } | undefined)?.text === address),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Waits until `check` holds (polling every 20 ms), failing after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
