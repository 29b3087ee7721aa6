// API resources (RFC 8707 resource indicators): registering, listing and
// removing them. Every rule a registration must meet is checked before
// anything is written.
import { randomUUID } from 'node:crypto';
import { compareAndSwap, type ChangeOptions } from '../compare-and-swap.ts';
import type { Config } from '../config/config.ts';
import { AlreadyExistsError, ConflictError, NotFoundError, PreconditionFailedError } from '../errors.ts';
import { adminResourceIdentifier } from './admin-resource.ts';
import type { ApiResourceRow, ResourceChanges, ResourceRepository } from './resource-repository.ts';
import {
  parseAccessTokenTtl,
  parseResourceIdentifier,
  parseResourceScopes,
  parseSigningAlg,
  type SigningAlg,
} from './resource-validation.ts';

export interface CreateResourceInput {
  readonly identifier: string;
  readonly scopes: readonly string[];
  /** Seconds; defaults to the configured access-token TTL. */
  readonly accessTokenTtl?: number;
  readonly signingAlg?: string;
}

/** What an update may change; absent fields stay. The identifier never changes: tokens carry it as `aud`. */
export interface UpdateResourceInput {
  readonly scopes?: readonly string[];
  readonly accessTokenTtl?: number;
  readonly signingAlg?: string;
}

export interface ResourceView {
  readonly id: string;
  /** Changes with every write: the ETag of the Admin API. */
  readonly version: string;
  readonly identifier: string;
  readonly scopes: string[];
  readonly accessTokenTtl: number;
  readonly signingAlg: SigningAlg;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ResourceServiceDeps {
  readonly repository: ResourceRepository;
  readonly config: Pick<Config, 'env' | 'ttl' | 'issuer'>;
}

export function createResourceService({ repository, config }: ResourceServiceDeps) {
  const adminIdentifier = adminResourceIdentifier(config.issuer);

  async function findRow(idOrIdentifier: string): Promise<ApiResourceRow> {
    const row = (await repository.findById(idOrIdentifier)) ?? (await repository.findByIdentifier(idOrIdentifier));
    if (!row) throw new NotFoundError(`resource ${idOrIdentifier} does not exist`);
    return row;
  }

  async function create(input: CreateResourceInput): Promise<ResourceView> {
    const identifier = parseResourceIdentifier(input.identifier, config.env);
    const scopes = parseResourceScopes(input.scopes);
    const accessTokenTtl = parseAccessTokenTtl(input.accessTokenTtl, config.ttl.accessToken);
    const signingAlg = parseSigningAlg(input.signingAlg);
    const row = await repository.insert({ id: randomUUID(), identifier, scopes: scopes.join(' '), accessTokenTtl, signingAlg });
    if (!row) throw new AlreadyExistsError(`resource ${identifier} already exists`);
    return toView(row);
  }

  return {
    create,

    async list(): Promise<ResourceView[]> {
      return (await repository.list()).map(toView);
    },

    /** One page in id order, after the id `after` (from the start when absent). */
    async listPage(page: { readonly after?: string; readonly limit: number }): Promise<ResourceView[]> {
      return (await repository.listPage(page)).map(toView);
    },

    /** By id only (the Admin API's {resource_id}); NotFoundError otherwise. */
    async getById(id: string): Promise<ResourceView> {
      const row = await repository.findById(id);
      if (!row) throw new NotFoundError(`resource ${id} does not exist`);
      return toView(row);
    },

    /** By id or identifier; NotFoundError when neither matches. */
    async get(idOrIdentifier: string): Promise<ResourceView> {
      return toView(await findRow(idOrIdentifier));
    },

    /**
     * Registers the resource unless its identifier exists; adds scopes it
     * lacks otherwise. Idempotent, and safe when several instances run it at
     * once (the loser of a create race finds the winner's row).
     */
    async ensure(input: CreateResourceInput): Promise<ResourceView> {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const existing = await repository.findByIdentifier(input.identifier);
        if (!existing) {
          try {
            return await create(input);
          } catch (error) {
            if (error instanceof AlreadyExistsError) continue;
            throw error;
          }
        }
        const view = toView(existing);
        const missing = input.scopes.filter((scope) => !view.scopes.includes(scope));
        if (missing.length === 0) return view;
        const updated = await repository.updateIfUnchanged(existing.id, existing.updatedAt, { scopes: [...view.scopes, ...missing].join(' ') });
        if (updated) return toView(updated);
      }
      throw new ConflictError(`resource ${input.identifier} kept changing while it was being ensured`);
    },

    /** Changes scopes, TTL or signing algorithm; absent fields stay. A compare-and-swap on `version` when given. */
    async update(idOrIdentifier: string, input: UpdateResourceInput, options: ChangeOptions = {}): Promise<ResourceView> {
      const changes: ResourceChanges = {
        ...(input.scopes !== undefined && { scopes: parseResourceScopes(input.scopes).join(' ') }),
        ...(input.accessTokenTtl !== undefined && { accessTokenTtl: parseAccessTokenTtl(input.accessTokenTtl, config.ttl.accessToken) }),
        ...(input.signingAlg !== undefined && { signingAlg: parseSigningAlg(input.signingAlg) }),
      };
      let id: string | undefined;
      return compareAndSwap(
        options,
        async () => {
          const current = await findRow(idOrIdentifier);
          id = current.id;
          if (options.version !== undefined && options.version !== versionOf(current)) throw stale(idOrIdentifier);
          const row = await repository.updateIfUnchanged(current.id, current.updatedAt, changes);
          return row && toView(row);
        },
        async () => ((await repository.findById(id!)) ? stale(idOrIdentifier) : new NotFoundError(`resource ${idOrIdentifier} does not exist`)),
      );
    },

    async findByIdentifier(identifier: string): Promise<ResourceView | undefined> {
      const row = await repository.findByIdentifier(identifier);
      return row && toView(row);
    },

    /** Changes whenever the registered resources change; caches compare it to know when to drop. */
    changeMarker(): Promise<string> {
      return repository.changeMarker();
    },

    /** Exactly the registered ones among `identifiers`; unknown identifiers are left out. */
    async findManyByIdentifier(identifiers: readonly string[]): Promise<ResourceView[]> {
      if (identifiers.length === 0) return [];
      return (await repository.findManyByIdentifier(identifiers)).map(toView);
    },

    /**
     * Deletes by identifier (or by id) and, in the same transaction, removes
     * the identifier from every client's resources. NotFoundError when
     * neither matches; ConflictError for the admin resource.
     */
    async delete(identifierOrId: string, options: ChangeOptions = {}): Promise<ResourceView> {
      let id: string | undefined;
      return compareAndSwap(
        options,
        async () => {
          const row = await findRow(identifierOrId);
          id = row.id;
          if (row.identifier === adminIdentifier) throw new ConflictError('the admin resource cannot be deleted: the Admin API and the console need it');
          if (options.version !== undefined && options.version !== versionOf(row)) throw stale(identifierOrId);
          return (await repository.deleteAndDetach(row, row.updatedAt)) ? toView(row) : undefined;
        },
        async () => ((await repository.findById(id!)) ? stale(identifierOrId) : new NotFoundError(`resource ${identifierOrId} does not exist`)),
      );
    },
  };
}

export type ResourceService = ReturnType<typeof createResourceService>;

/** A row's version: its updatedAt in milliseconds, which every write moves forward. */
function versionOf(row: Pick<ApiResourceRow, 'updatedAt'>): string {
  return String(row.updatedAt.getTime());
}

function stale(what: string): PreconditionFailedError {
  return new PreconditionFailedError(`resource ${what} has changed since the version given`);
}

function toView(row: ApiResourceRow): ResourceView {
  return {
    id: row.id,
    version: versionOf(row),
    identifier: row.identifier,
    scopes: row.scopes.split(' ').filter(Boolean),
    accessTokenTtl: row.accessTokenTtl,
    signingAlg: row.signingAlg as SigningAlg,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
