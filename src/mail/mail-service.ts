// What the pages call to send a person mail: enqueue() renders the template
// and writes one MailOutbox row, and that is all the request waits for; the
// sender loop (mail-sender.ts) delivers it. It never throws into the page:
// a mail that cannot even be queued is logged and reported as not queued,
// and the page answers as it would have.
import type { Log } from '../log.ts';
import type { MailOutboxRepository } from './mail-outbox-repository.ts';
import type { MailTemplateName, MailTemplates } from './mail-templates.ts';

export interface MailRequest {
  /** One recipient address. */
  readonly to: string;
  readonly template: MailTemplateName;
  /** What the template shows besides the issuer (a name, a link…). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface MailServiceDeps {
  readonly repository: Pick<MailOutboxRepository, 'insert'>;
  readonly templates: MailTemplates;
  readonly log: Pick<Log, 'error'>;
  /** Told after a row is written (the composition root nudges the sender, so mail goes out before the next interval). */
  readonly onQueued?: () => void;
  readonly now?: () => Date;
}

export function createMailService({ repository, templates, log, onQueued, now = () => new Date() }: MailServiceDeps) {
  return {
    /** Queues the mail; resolves with its outbox id, or null when it could not be queued (logged). Never rejects. */
    async enqueue(mail: MailRequest): Promise<string | null> {
      try {
        const id = await repository.insert({ to: mail.to, ...templates.render(mail.template, mail.data) }, now());
        try {
          onQueued?.();
        } catch {
          // The row is written: the next interval sends it.
        }
        return id;
      } catch (error) {
        // Only the error's class and code: a database error's message can quote
        // the row it failed to write, and a link in that row is a credential.
        const { name, code } = error as { name?: unknown; code?: unknown };
        log.error({ error: { name: String(name), code: typeof code === 'string' ? code : undefined }, template: mail.template }, 'could not queue a mail');
        return null;
      }
    },
  };
}

export type MailService = ReturnType<typeof createMailService>;
