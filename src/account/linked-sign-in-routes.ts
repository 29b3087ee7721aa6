// The account page's "Linked sign-ins": unlinking an upstream identity
// (POST /account/links/unlink, a plain form post carrying the page's form
// token like the page's other forms). Unlinking never removes the last way
// in: an account with no password and no passkey keeps its only link (the
// person sets a password first, through the emailed link the page offers).
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AuditService } from '../audit/audit-service.ts';
import type { FederatedIdentities } from '../federation/federated-identities.ts';
import { message, type Message } from '../i18n/message.ts';
import type { PasskeyService } from '../passkeys/passkey-service.ts';
import type { SignedIn } from './account-session.ts';

export interface LinkedSignInRoutesDeps {
  readonly federatedIdentities: Pick<FederatedIdentities, 'listForAccount' | 'unlink'>;
  readonly passkeys: Pick<PasskeyService, 'list'>;
  readonly audit: Pick<AuditService, 'record'>;
  /** The account page's handlers for a form post: who is signed in (or the answer given), and a refusal shown on the page. */
  readonly acceptForm: (ctx: Context) => Promise<{ who: SignedIn; form: URLSearchParams } | undefined>;
  readonly refuse: (ctx: Context, who: SignedIn, status: number, reason: Message) => Promise<void>;
  readonly done: (ctx: Context, what: 'unlinked') => void;
}

/** Provider ids are UUIDs; a longer field is cut before it is looked at. */
const PROVIDER_FIELD_MAX = 64;

export function addLinkedSignInRoutes(router: Router, { federatedIdentities, passkeys, audit, acceptForm, refuse, done }: LinkedSignInRoutesDeps): void {
  router.post('/links/unlink', async (ctx) => {
    const accepted = await acceptForm(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    const providerId = (form.get('provider') ?? '').slice(0, PROVIDER_FIELD_MAX);
    // Only the person's own links are listed, and only those can be found: another account's is "not found".
    const links = await federatedIdentities.listForAccount(who.account.id);
    const link = links.find((candidate) => candidate.providerId === providerId);
    if (!link) return refuse(ctx, who, 404, message('account.error.linkNotFound'));
    const othersLeft = links.some((other) => other.providerId !== providerId);
    if (!who.hasPassword && !othersLeft && (await passkeys.list(who.account.id)).length === 0) {
      return refuse(ctx, who, 409, message('account.error.lastWayIn', { provider: link.name }));
    }
    if (await federatedIdentities.unlink(who.account.id, providerId)) {
      audit.record({ type: 'federation.unlinked', actor: who.account.id, subject: who.account.id, ip: ctx.ip, details: { provider: link.slug } });
    }
    done(ctx, 'unlinked');
  });
}
