// Upstream identity providers people can sign in with ("Continue with Acme
// SSO"): created, changed, enabled, disabled and deleted by the operator
// (latchkey idp …), listed for the login page. The client secret exists in
// clear only in the input and in clientSecretOf's answer (for the sign-in
// that needs it); at rest it is sealed with a key of its own derived from the
// master secret, bound to the provider's id, and no view carries it.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { AlreadyExistsError, KeyUnavailableError, NotFoundError } from '../errors.ts';
import { createSealer, type Sealer } from '../keys/sealing.ts';
import type { IdentityProviderChanges, IdentityProviderRecord, IdentityProviderRepository } from './identity-provider-repository.ts';
import {
  GITHUB_ISSUER,
  parseClientId,
  parseClientSecret,
  parseIdpName,
  parseIdpScope,
  parseIdpType,
  parseIssuer,
  parseSlug,
  slugFromName,
  type IdentityProviderType,
} from './identity-provider-validation.ts';

export type { IdentityProviderType } from './identity-provider-validation.ts';

export interface IdentityProviderView {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly type: IdentityProviderType;
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface IdentityProviderInput {
  readonly name: string;
  /** Defaults to the name, lower-cased and hyphenated (slugFromName). */
  readonly slug?: string;
  /** Defaults to oidc. */
  readonly type?: IdentityProviderType;
  /** Required for oidc; github defaults to https://github.com. */
  readonly issuer?: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Defaults to the type's (DEFAULT_SCOPE). */
  readonly scope?: string;
  readonly enabled?: boolean;
}

/** Absent fields stay as they are; the type and the slug are fixed at creation. */
export interface IdentityProviderPatch {
  readonly name?: string;
  readonly issuer?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly scope?: string;
  readonly enabled?: boolean;
}

/** The HKDF label of the key that seals upstream client secrets: no other sealed data opens with it. */
export const IDP_SECRET_SEALING_INFO = 'latchkey: AES-256-GCM key for sealing identity provider client secrets';

/** A sealer for upstream client secrets, from the master secret (keys/master-secret.ts resolves it). */
export function createIdpSecretSealer(masterSecret: string): Sealer {
  return createSealer(masterSecret, IDP_SECRET_SEALING_INFO);
}

export interface IdentityProviderServiceDeps {
  readonly repository: IdentityProviderRepository;
  /** Called on the first seal or open, not before: listing providers needs no master secret. */
  readonly sealer: () => Sealer;
  readonly config: Pick<Config, 'env'>;
}

export function createIdentityProviderService({ repository, sealer, config }: IdentityProviderServiceDeps) {
  async function existing(slug: string): Promise<IdentityProviderRecord> {
    const row = await repository.findBySlug(slug);
    if (!row) throw new NotFoundError(`identity provider ${slug} does not exist`);
    return row;
  }

  return {
    async create(input: IdentityProviderInput): Promise<IdentityProviderView> {
      const name = parseIdpName(input.name);
      const type = parseIdpType(input.type);
      const slug = input.slug === undefined ? slugFromName(name) : parseSlug(input.slug);
      const issuer = type === 'github' && input.issuer === undefined ? GITHUB_ISSUER : parseIssuer(input.issuer, config.env);
      const clientId = parseClientId(input.clientId);
      const clientSecret = parseClientSecret(input.clientSecret);
      const scope = parseIdpScope(input.scope, type);
      const id = randomUUID();
      const row = await repository.insert({
        id,
        slug,
        name,
        type,
        issuer,
        clientId,
        sealedClientSecret: sealer().seal(clientSecret, id),
        scope,
        enabled: input.enabled ?? true,
      });
      if (!row) throw new AlreadyExistsError(`identity provider ${slug} already exists`);
      return toView(row);
    },

    async update(slug: string, patch: IdentityProviderPatch): Promise<IdentityProviderView> {
      const row = await existing(slug);
      const type = toType(row.type);
      const changes: { -readonly [K in keyof IdentityProviderChanges]: IdentityProviderChanges[K] } = {};
      if (patch.name !== undefined) changes.name = parseIdpName(patch.name);
      if (patch.issuer !== undefined) changes.issuer = parseIssuer(patch.issuer, config.env);
      if (patch.clientId !== undefined) changes.clientId = parseClientId(patch.clientId);
      if (patch.clientSecret !== undefined) changes.sealedClientSecret = sealer().seal(parseClientSecret(patch.clientSecret), row.id);
      if (patch.scope !== undefined) changes.scope = parseIdpScope(patch.scope, type);
      if (patch.enabled !== undefined) changes.enabled = patch.enabled;
      if (Object.keys(changes).length === 0) return toView(row);
      const updated = await repository.update(row.id, changes);
      if (!updated) throw new NotFoundError(`identity provider ${slug} does not exist`);
      return toView(updated);
    },

    /** Deletes the provider and every account link through it. */
    async delete(slug: string): Promise<void> {
      const row = await existing(slug);
      if (!(await repository.delete(row.id))) throw new NotFoundError(`identity provider ${slug} does not exist`);
    },

    async list(): Promise<IdentityProviderView[]> {
      return (await repository.list()).map(toView);
    },

    /** The providers the login page offers, by name: one query. */
    async listEnabled(): Promise<IdentityProviderView[]> {
      return (await repository.listEnabled()).map(toView);
    },

    async findBySlug(slug: string): Promise<IdentityProviderView | undefined> {
      const row = await repository.findBySlug(slug);
      return row && toView(row);
    },

    /** Providers by id, for showing links (federated-identities.ts); unknown ids are left out. */
    async findManyById(ids: readonly string[]): Promise<IdentityProviderView[]> {
      return (await repository.findManyById(ids)).map(toView);
    },

    /**
     * Moves every client secret from the `previous` master secret's sealer to
     * the current one (`latchkey secret rotate`). A secret the current one
     * already opens is left alone, so running it again is harmless; one that
     * neither opens stops it before anything is written.
     */
    async resealSecrets(previous: Sealer): Promise<{ resealed: number; alreadyCurrent: number }> {
      const current = sealer();
      const rows = await repository.listSealed();
      const stale: { id: string; sealed: string; plaintext: string }[] = [];
      for (const row of rows) {
        try {
          current.open(row.sealedClientSecret, row.id);
          continue;
        } catch {
          // Not yet under the current secret: the previous one must open it.
        }
        try {
          stale.push({ id: row.id, sealed: row.sealedClientSecret, plaintext: previous.open(row.sealedClientSecret, row.id) });
        } catch {
          throw new KeyUnavailableError(`the client secret of identity provider ${row.slug} opens with neither the previous secret given nor LATCHKEY_SECRET; no identity provider secret was changed`);
        }
      }
      let resealed = 0;
      for (const { id, sealed, plaintext } of stale) {
        if (await repository.replaceSealed(id, sealed, current.seal(plaintext, id))) resealed += 1;
      }
      return { resealed, alreadyCurrent: rows.length - stale.length };
    },

    /**
     * The provider's client secret in clear, for the token request of a
     * sign-in. KeyUnavailableError when it does not open (another master
     * secret, or a row altered); NotFoundError when the provider is gone.
     */
    async clientSecretOf(idp: Pick<IdentityProviderView, 'id' | 'slug'>): Promise<string> {
      const sealed = await repository.sealedSecretOf(idp.id);
      if (sealed === undefined) throw new NotFoundError(`identity provider ${idp.slug} does not exist`);
      return sealer().open(sealed, idp.id);
    },
  };
}

export type IdentityProviderService = ReturnType<typeof createIdentityProviderService>;

// Only the types this code knows are ever written; anything else in the row is read as oidc, the stricter one.
const toType = (type: string): IdentityProviderType => (type === 'github' ? 'github' : 'oidc');

function toView(row: IdentityProviderRecord): IdentityProviderView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    type: toType(row.type),
    issuer: row.issuer,
    clientId: row.clientId,
    scope: row.scope,
    enabled: row.enabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
