// Renders a mail's subject, plain text and HTML from views/mail/<name>.*.eta.
// The text and subject are rendered without escaping (they are not markup;
// nodemailer encodes the headers), the HTML with Eta's escaping of every
// `<%= %>` value, inside views/mail/layout.html.eta. Every template is given
// the issuer's URL and name, so a person can tell which service wrote to them.
import { Eta } from 'eta';
import { viewsDir } from '../paths.ts';

/** The mails there are: each has views/mail/<name>.subject.eta, .text.eta and .html.eta. */
export const MAIL_TEMPLATES = ['test', 'verify-email', 'signup-existing', 'reset-password', 'invite', 'change-email', 'email-changed', 'password-changed'] as const;
export type MailTemplateName = (typeof MAIL_TEMPLATES)[number];

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailTemplateOptions {
  /** The issuer URL; its host is the name mails are signed with. */
  readonly issuer: string;
  readonly cache?: boolean;
}

export function createMailTemplates({ issuer, cache = true }: MailTemplateOptions) {
  const markup = new Eta({ views: viewsDir, autoEscape: true, autoTrim: false, cache });
  const plain = new Eta({ views: viewsDir, autoEscape: false, autoTrim: false, cache });
  const issuerName = new URL(issuer).host;

  return {
    render(name: MailTemplateName, data: Readonly<Record<string, unknown>> = {}): RenderedMail {
      const it = { ...data, issuer, issuerName };
      // A subject is one header line, whatever a value in it holds.
      const subject = plain.render(`mail/${name}.subject.eta`, it).replace(/\s+/g, ' ').trim();
      const text = plain.render(`mail/${name}.text.eta`, it);
      const body = markup.render(`mail/${name}.html.eta`, it);
      const html = markup.render('mail/layout.html.eta', { subject, issuer, issuerName, body });
      return { subject, text, html };
    },
  };
}

export type MailTemplates = ReturnType<typeof createMailTemplates>;
