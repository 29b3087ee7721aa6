// Where mail goes: to the SMTP server in LATCHKEY_SMTP_URL through
// nodemailer (STARTTLS when an smtp:// server offers it, TLS from the start
// for smtps://), or, without one, to a file outbox: one `<id>.eml` per mail
// in <dataDir>/outbox, readable by the owner only (its links are
// credentials), so a bare machine still shows the whole flow.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  /** The outbox row's id: the file name, and the Message-ID's left part, so a mail sent twice can be told apart as the same. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailTransport {
  /** What the log says mail goes to: the SMTP host and port, or the outbox directory. */
  readonly description: string;
  /** Resolves once the mail is accepted (by the server, or written); rejects with nodemailer's or fs's error. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

// nodemailer waits minutes by default; a sender stuck that long holds its
// claim and delays every mail behind it. Well inside the sender's lease.
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 } as const;

const messageId = (mail: OutgoingMail) => `<${mail.id}@${mailDomain(mail.from)}>`;
const mailDomain = (from: string) => /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'latchkey.invalid';

/** The nodemailer message, the same for both transports. */
const message = (mail: OutgoingMail) => ({ from: mail.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: messageId(mail) });

export function createSmtpTransport(smtpUrl: string): MailTransport {
  const url = new URL(smtpUrl);
  const transporter = nodemailer.createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
    secure: url.protocol === 'smtps:',
    ...(url.username && { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
    ...SMTP_TIMEOUTS,
  });
  return {
    // Host and port only: the URL's credentials never reach a log.
    description: `${url.protocol}//${url.host}`,
    async send(mail) {
      await transporter.sendMail(message(mail));
    },
    close: () => transporter.close(),
  };
}

export function createFileOutboxTransport(dataDir: string): MailTransport {
  const dir = path.join(dataDir, 'outbox');
  // streamTransport with buffer: nodemailer builds the whole RFC 5322 message and hands it back instead of sending it.
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    description: dir,
    async send(mail) {
      const info = await transporter.sendMail(message(mail));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(path.join(dir, `${mail.id}.eml`), info.message as Buffer, { mode: 0o600 });
    },
    close: () => transporter.close(),
  };
}
