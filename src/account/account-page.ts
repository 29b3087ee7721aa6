// Renders /account for the signed-in person: profile, email, password,
// passkeys (with the script that adds one), the upstream sign-ins linked to
// the account, the apps they allowed (with their scopes) and where they are
// signed in, plus the delete form. Every form
// carries the same form token, bound to this browser's session (account-form-token.ts); a notice or an error is a
// message from the catalogs, never text from the request.
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import type { FederatedIdentities } from '../federation/federated-identities.ts';
import type { Views } from '../http/views.ts';
import type { Message } from '../i18n/message.ts';
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import type { ArtifactRepository } from '../oidc/artifact-repository.ts';
import type { MfaRecords } from '../mfa/mfa-records.ts';
import type { MfaService } from '../mfa/mfa-service.ts';
import { enrolmentView } from '../mfa/totp-qr.ts';
import type { AccountFormTokens } from './account-form-token.ts';
import type { SignedIn } from './account-session.ts';
import { allowPageScripts } from '../http/security-headers.ts';
import { MAX_PASSKEY_NAME_LENGTH, type PasskeyService } from '../passkeys/passkey-service.ts';

/** Which form an error belongs to: it is shown above that form. */
export type AccountSection = 'name' | 'email' | 'password' | 'mfa' | 'passkeys' | 'links' | 'apps' | 'delete';

export interface AccountPageOptions {
  readonly notice?: Message;
  readonly error?: { readonly section: AccountSection; readonly message: Message };
  readonly status?: number;
  /** Recovery codes just made: shown on this one page, never again. */
  readonly recoveryCodes?: readonly string[];
}

export interface AccountPageDeps {
  readonly provider: Pick<Provider, 'Client'>;
  readonly artifacts: Pick<ArtifactRepository, 'listGrants' | 'listSessions'>;
  readonly passkeys: Pick<PasskeyService, 'list'>;
  /** The upstream identities linked to the account (section "Linked sign-ins"). */
  readonly federatedIdentities: Pick<FederatedIdentities, 'listForAccount'>;
  /** Whether /password/reset takes links (LATCHKEY_PASSWORD_RESET): an account without a password sets one through it. */
  readonly passwordReset: boolean;
  readonly views: Views;
  readonly formTokens: AccountFormTokens;
  readonly mfa: Pick<MfaService, 'pendingTotp'>;
  readonly mfaRecords: Pick<MfaRecords, 'status'>;
  /** The issuer's host: what an authenticator app lists the account under. */
  readonly issuerHost: string;
}

export function createAccountPage({ provider, artifacts, passkeys, federatedIdentities, passwordReset, views, formTokens, mfa, mfaRecords, issuerHost }: AccountPageDeps) {
  async function clientName(clientId: string): Promise<string> {
    try {
      return (await provider.Client.find(clientId))?.clientName ?? clientId;
    } catch {
      // A client whose stored metadata no longer validates is still named.
      return clientId;
    }
  }

  return {
    async render(ctx: Context, who: SignedIn, options: AccountPageOptions = {}): Promise<void> {
      const locale = views.localeFor(ctx);
      const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
      const time = (at: Date | null) => (at ? `${format.format(at)} UTC` : undefined);
      const [grants, sessions, keys, links, factors, pending] = await Promise.all([
        artifacts.listGrants(who.account.id),
        artifacts.listSessions(who.account.id),
        passkeys.list(who.account.id),
        federatedIdentities.listForAccount(who.account.id),
        mfaRecords.status(who.account.id),
        mfa.pendingTotp(who.account.id, { issuer: issuerHost, email: who.account.email }),
      ]);
      const apps = await Promise.all(
        grants
          .filter((grant) => grant.clientId !== ACCOUNT_CLIENT_ID)
          .map(async (grant) => ({
            key: grant.key,
            clientName: await clientName(grant.clientId),
            scopes: grant.scopes,
            apis: Object.entries(grant.resources).map(([identifier, scopes]) => ({ identifier, scopes })),
            until: time(grant.expiresAt),
          })),
      );
      // The passkey section's buttons run views/static/passkey.js.
      allowPageScripts(ctx);
      ctx.status = options.status ?? 200;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = views.render(
        'account',
        {
          title: 'account.title',
          email: who.account.email,
          emailVerified: who.account.emailVerified,
          name: who.account.name ?? '',
          // Without a password, the forms that ask for the current one are replaced by a way to set one.
          hasPassword: who.hasPassword,
          passwordReset,
          token: formTokens.issue(who.sessionUid),
          notice: options.notice,
          error: options.error,
          grants: apps,
          mfa: {
            totp: factors.totp,
            recoveryCodesLeft: factors.recoveryCodesLeft,
            pending: pending && (await enrolmentView(pending)),
            recoveryCodes: options.recoveryCodes,
          },
          sessions: sessions.map((session) => ({ signedInAt: time(session.signedInAt), expiresAt: time(session.expiresAt), current: session.uid === who.sessionUid })),
          passkeys: keys.map((key) => ({ id: key.id, name: key.name, createdAt: time(key.createdAt), lastUsedAt: time(key.lastUsedAt) })),
          passkeyNameMax: MAX_PASSKEY_NAME_LENGTH,
          links: links.map((link) => ({ providerId: link.providerId, name: link.name, email: link.email, linkedAt: time(link.createdAt), lastUsedAt: time(link.lastUsedAt) })),
          otherSessions: sessions.some((session) => session.uid !== who.sessionUid),
        },
        locale,
      );
    },
  };
}

export type AccountPage = ReturnType<typeof createAccountPage>;
