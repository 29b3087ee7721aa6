// API resources (RFC 8707 resource indicators): registering, listing and
// removing them. Every rule a registration must meet is checked before
// anything is written.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { AlreadyExistsError, NotFoundError } from '../errors.ts';
import type { ApiResourceRow, ResourceRepository } from './resource-repository.ts';
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

export interface ResourceView {
  readonly id: string;
  readonly identifier: string;
  readonly scopes: string[];
  readonly accessTokenTtl: number;
  readonly signingAlg: SigningAlg;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ResourceServiceDeps {
  readonly repository: ResourceRepository;
  readonly config: Pick<Config, 'env' | 'ttl'>;
}

export function createResourceService({ repository, config }: ResourceServiceDeps) {
  return {
    async create(input: CreateResourceInput): Promise<ResourceView> {
      const identifier = parseResourceIdentifier(input.identifier, config.env);
      const scopes = parseResourceScopes(input.scopes);
      const accessTokenTtl = parseAccessTokenTtl(input.accessTokenTtl, config.ttl.accessToken);
      const signingAlg = parseSigningAlg(input.signingAlg);
      const row = await repository.insert({ id: randomUUID(), identifier, scopes: scopes.join(' '), accessTokenTtl, signingAlg });
      if (!row) throw new AlreadyExistsError(`resource ${identifier} already exists`);
      return toView(row);
    },

    async list(): Promise<ResourceView[]> {
      return (await repository.list()).map(toView);
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

    /** Deletes by identifier (or by id); NotFoundError when neither matches. */
    async delete(identifierOrId: string): Promise<ResourceView> {
      const row = (await repository.findByIdentifier(identifierOrId)) ?? (await repository.findById(identifierOrId));
      if (!row || !(await repository.deleteById(row.id))) {
        throw new NotFoundError(`resource ${identifierOrId} does not exist`);
      }
      return toView(row);
    },
  };
}

export type ResourceService = ReturnType<typeof createResourceService>;

function toView(row: ApiResourceRow): ResourceView {
  return {
    id: row.id,
    identifier: row.identifier,
    scopes: row.scopes.split(' ').filter(Boolean),
    accessTokenTtl: row.accessTokenTtl,
    signingAlg: row.signingAlg as SigningAlg,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
