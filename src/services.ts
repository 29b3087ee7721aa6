// The one place repositories are composed into services. The CLI and the
// server both call this, so they apply exactly the same rules.
import { createAccountRepository } from './accounts/account-repository.ts';
import { createAccountService } from './accounts/account-service.ts';
import { createAccountTokenRepository } from './accounts/account-token-repository.ts';
import { createAccountTokens } from './accounts/account-tokens.ts';
import { createInvitations } from './accounts/invitation.ts';
import { createPasswordHasher } from './accounts/password-hasher.ts';
import { createAuditRepository } from './audit/audit-repository.ts';
import { createAuditService } from './audit/audit-service.ts';
import { createLogoutNotices } from './backchannel/logout-notices.ts';
import { createLogoutOutboxRepository } from './backchannel/logout-outbox-repository.ts';
import { createSessionEnds } from './backchannel/session-ends.ts';
import { createClientRepository } from './clients/client-repository.ts';
import { createClientService } from './clients/client-service.ts';
import type { Config } from './config/config.ts';
import type { Database } from './db/database.ts';
import { createFederatedIdentities } from './federation/federated-identities.ts';
import { createFederatedIdentityRepository } from './federation/federated-identity-repository.ts';
import { createIdentityProviderRepository } from './federation/identity-provider-repository.ts';
import { createIdentityProviderService, createIdpSecretSealer } from './federation/identity-provider-service.ts';
import { resolveMasterSecret } from './keys/master-secret.ts';
import type { Sealer } from './keys/sealing.ts';
import type { Log } from './log.ts';
import { createMfaRecords } from './mfa/mfa-records.ts';
import { createSecondFactorQuery } from './mfa/second-factor-query.ts';
import { createMfaRepository } from './mfa/mfa-repository.ts';
import { createSecondFactorReset } from './mfa/second-factor-reset.ts';
import { createSecondFactorSummary } from './mfa/second-factor-summary.ts';
import { createArtifactRepository } from './oidc/artifact-repository.ts';
import { createPasskeyRepository } from './passkeys/passkey-repository.ts';
import { createPasskeyService } from './passkeys/passkey-service.ts';
import { createResourceRepository } from './resources/resource-repository.ts';
import { createResourceService } from './resources/resource-service.ts';
import { createRegistrationTokens } from './registration/registration-tokens.ts';

export interface ServicesDeps {
  readonly config: Config;
  readonly db: Database;
  /** Where audit events are logged as they are recorded: the server's log. The CLI passes none. */
  readonly log?: Log;
  /** Told when back-channel logouts were queued: the server wakes its sender. The CLI passes none (a server delivers them). */
  readonly onLogoutQueued?: () => void;
  /**
   * The master secret, when the caller has resolved it already (createKeys);
   * otherwise it is resolved (keys/master-secret.ts) the first time an
   * upstream identity provider's secret is sealed or opened.
   */
  readonly masterSecret?: () => string;
}

export function createServices({ config, db, log, onLogoutQueued, masterSecret }: ServicesDeps) {
  const resources = createResourceService({ repository: createResourceRepository(db.prisma), config });
  const clients = createClientService({ repository: createClientRepository(db.prisma), resources, config });
  const audit = createAuditService({ repository: createAuditRepository(db), log });
  // Back-channel logouts owed by ended sessions, queued for every instance's sender (src/backchannel/).
  const logoutNotices = createLogoutNotices({ repository: createLogoutOutboxRepository(db), clients, audit, onQueued: onLogoutQueued });
  // What accounts' sign-ins left behind (sessions, grants, tokens): ended with a password change, listed for operators;
  // the calls that end sessions queue their back-channel logouts first (backchannel/session-ends.ts).
  const artifactRepository = createArtifactRepository(db);
  const artifacts = { ...artifactRepository, ...createSessionEnds({ artifacts: artifactRepository, notices: logoutNotices }) };
  const accounts = createAccountService({
    repository: createAccountRepository(db),
    hasher: createPasswordHasher(config.passwordHashing.argon2),
    artifacts,
  });
  // The links mailed to people (verification, reset, invitation).
  const accountTokens = createAccountTokens({ repository: createAccountTokenRepository(db) });
  // Second factors as far as they can be seen without their secrets (status, reset); codes are checked by mfa-service.ts.
  const passkeyRepository = createPasskeyRepository(db);
  const mfa = createMfaRecords({ repository: createMfaRepository(db), secondFactors: createSecondFactorQuery(db) });
  // An account's WebAuthn credentials (the ceremonies are passkeys/webauthn-ceremony.ts's).
  const passkeys = createPasskeyService({ repository: passkeyRepository });
  // What an operator does to an account beyond its row (CLI and Admin API alike).
  const invitations = createInvitations({ accounts, accountTokens, issuer: config.issuer });
  const secondFactorReset = createSecondFactorReset({ mfa, passkeys });
  const secondFactorSummary = createSecondFactorSummary(db);
  // Dynamic client registration's bearer tokens (initial and registration access tokens), digested in the artifact table.
  const registrationTokens = createRegistrationTokens({ artifacts });
  // Upstream identity providers (src/federation/): their client secrets sealed under a key of their own, and the account links.
  let idpSealer: Sealer | undefined;
  const sealer = () => (idpSealer ??= createIdpSecretSealer(masterSecret?.() ?? resolveMasterSecret(config, { info: (message) => log?.info(message) })));
  const identityProviders = createIdentityProviderService({ repository: createIdentityProviderRepository(db.prisma), sealer, config });
  const federatedIdentities = createFederatedIdentities({ repository: createFederatedIdentityRepository(db.prisma), providers: identityProviders });
  return { accounts, clients, resources, audit, accountTokens, mfa, passkeys, invitations, secondFactorReset, secondFactorSummary, artifacts, registrationTokens, logoutNotices, identityProviders, federatedIdentities };
}

export type Services = ReturnType<typeof createServices>;
