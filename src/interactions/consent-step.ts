// The consent step: shows a signed-in person what a client asks for, and on
// "Allow" records exactly that in the grant. Scopes already granted in this
// session never reach this page: oidc-provider's consent prompt asks only
// when something requested is missing from the grant (or prompt=consent).
import type { Context } from 'koa';
import type { Interaction, Provider } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';
import type { InteractionAudit } from './interaction-audit.ts';
import { describeConsent, type ConsentRequest } from './consent-words.ts';
import type { FormTokens } from './form-token.ts';
import type { InteractionPages } from './interaction-page.ts';

export interface ConsentStepDeps {
  readonly provider: Provider;
  readonly accounts: Pick<AccountService, 'findById'>;
  readonly pages: InteractionPages;
  readonly formTokens: FormTokens;
  readonly audit: Pick<InteractionAudit, 'consentGranted'>;
  /** Seconds a grant lasts (LATCHKEY_GRANT_TTL), which the page states for offline access. */
  readonly grantTtl: number;
}

/** What the consent prompt found missing from the grant; all empty when consent was asked for explicitly. */
function missingFromGrant(interaction: Interaction): ConsentRequest {
  const details = interaction.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  return {
    scopes: details.missingOIDCScope ?? [],
    claims: details.missingOIDCClaims ?? [],
    resourceScopes: details.missingResourceScopes ?? {},
  };
}

function requestedScopes(interaction: Interaction): string[] {
  const scope = interaction.params.scope;
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}

export function createConsentStep({ provider, accounts, pages, formTokens, audit, grantTtl }: ConsentStepDeps) {
  return {
    async render(ctx: Context, interaction: Interaction) {
      const missing = missingFromGrant(interaction);
      const nothingMissing = !missing.scopes.length && !missing.claims.length && !Object.keys(missing.resourceScopes).length;
      // Asked again (prompt=consent, or a native app): show the whole request.
      const clientName = await pages.clientName(interaction);
      const summary = describeConsent(nothingMissing ? { ...missing, scopes: requestedScopes(interaction) } : missing, { clientName, offlineAccessTtl: grantTtl });
      const account = await accounts.findById(interaction.session!.accountId);
      pages.render(ctx, interaction, 'consent', {
        title: 'consent.title',
        clientName,
        accountEmail: account?.email,
        uid: interaction.uid,
        token: formTokens.issue(interaction.uid),
        // A device flow (RFC 8628) answers the device, not a redirect URI.
        device: Boolean((interaction as { deviceCode?: unknown }).deviceCode),
        ...summary,
      });
    },

    async submit(ctx: Context, interaction: Interaction) {
      const accountId = interaction.session!.accountId;
      const clientId = String(interaction.params.client_id);
      const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
      const grant = existing ?? new provider.Grant({ accountId, clientId });

      const missing = missingFromGrant(interaction);
      if (missing.scopes.length) grant.addOIDCScope([...missing.scopes]);
      if (missing.claims.length) grant.addOIDCClaims([...missing.claims]);
      for (const [indicator, scopes] of Object.entries(missing.resourceScopes)) {
        grant.addResourceScope(indicator, [...scopes]);
      }
      const grantId = await grant.save();

      if (!(await pages.finish(ctx, { consent: { grantId } }, { mergeWithLastSubmission: true }))) return;
      audit.consentGranted(ctx, interaction, { ...missing, grantId });
    },
  };
}

export type ConsentStep = ReturnType<typeof createConsentStep>;
