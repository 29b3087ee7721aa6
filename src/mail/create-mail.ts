// Builds Latchkey's mail from its configuration: the service pages queue
// mail with, and the sender loop that delivers it through the transport the
// configuration names. Without LATCHKEY_SMTP_URL outside production the
// transport is the file outbox, and the log says where it is. In production
// without one there is no sender: what is queued waits in the database until
// an SMTP URL is set (the features that mail people refuse to start without
// one: requireSmtpForAccountMail in config.ts).
import type { Config } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import type { Log } from '../log.ts';
import type { Periodic } from '../periodic.ts';
import { createMailOutboxRepository } from './mail-outbox-repository.ts';
import { startMailSender } from './mail-sender.ts';
import { createMailService, type MailService } from './mail-service.ts';
import { createMailTemplates } from './mail-templates.ts';
import { createFileOutboxTransport, createSmtpTransport, type MailTransport } from './mail-transport.ts';

export interface Mail {
  readonly service: MailService;
  /** The sender loop, when there is somewhere to send to. */
  readonly tasks: readonly Periodic[];
}

export interface MailOptions {
  /** Milliseconds between the sender's runs (tests shorten it). */
  readonly intervalMs?: number;
}

export function createMail({ config, db, log }: { config: Pick<Config, 'env' | 'issuer' | 'dataDir' | 'mail'>; db: Pick<Database, 'prisma'>; log: Log }, options: MailOptions = {}): Mail {
  const repository = createMailOutboxRepository(db);
  const templates = createMailTemplates({ issuer: config.issuer });
  const transport = chooseTransport(config, log);
  const sender = transport && startMailSender({
    repository,
    transport,
    from: config.mail.from,
    log,
    ...(options.intervalMs !== undefined && { intervalMs: options.intervalMs }),
    onError: (error) => log.warn({ err: error }, 'sending queued mail failed'),
  });
  const service = createMailService({ repository, templates, log, ...(sender && { onQueued: () => void sender.runNow() }) });
  return { service, tasks: sender ? [sender] : [] };
}

function chooseTransport(config: Pick<Config, 'env' | 'dataDir' | 'mail'>, log: Log): MailTransport | null {
  if (config.mail.smtpUrl) return createSmtpTransport(config.mail.smtpUrl);
  if (config.env === 'production') return null;
  const outbox = createFileOutboxTransport(config.dataDir);
  log.info({ outbox: outbox.description }, `no LATCHKEY_SMTP_URL: mail is written to ${outbox.description}, one .eml file per mail`);
  return outbox;
}
