// A real SMTP server for tests (smtp-server, in the test process, on a
// loopback port) that wants a password and keeps every mail it accepts,
// parsed with mailparser. Tests point LATCHKEY_SMTP_URL at it (smtpUrl) and
// read what arrived over TCP.
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'mailer';
// Characters a URL must percent-encode: the transport must decode them.
export const SMTP_PASSWORD = 'p@ss:w/rd';
export const smtpUrl = (port: number) => `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${port}`;

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
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;
